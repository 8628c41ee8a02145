/// An ordered vocabulary whose row 0 is the padding word `"NA"` (torch_brain's InfiniteVocabEmbedding).
public struct Vocabulary: Equatable, Sendable {
    public static let padding = "NA"

    /// Words in row order; `words[0] == "NA"`.
    public private(set) var words: [String]
    private var index: [String: Int]

    /// Builds `["NA"] + words` in the given order. Duplicates are rejected.
    public init(words: [String]) throws {
        self.words = [Vocabulary.padding]
        self.index = [Vocabulary.padding: 0]
        for w in words { try append(w) }
    }

    /// Rebuilds from a stored list that already starts with `"NA"` (checkpoint / golden metadata).
    public init(storedWords: [String]) throws {
        guard storedWords.first == Vocabulary.padding else {
            throw VocabularyError.missingPadding
        }
        try self.init(words: Array(storedWords.dropFirst()))
    }

    public mutating func append(_ word: String) throws {
        guard index[word] == nil else { throw VocabularyError.duplicate(word) }
        index[word] = words.count
        words.append(word)
    }

    /// Number of rows, padding included.
    public var count: Int { words.count }

    public func row(of word: String) -> Int? { index[word] }

    public static func == (a: Vocabulary, b: Vocabulary) -> Bool { a.words == b.words }
}

public enum VocabularyError: Error, CustomStringConvertible, Equatable {
    case missingPadding
    case duplicate(String)
    case unknownWord(String)

    public var description: String {
        switch self {
        case .missingPadding: return "vocabulary does not start with \"NA\""
        case .duplicate(let w): return "vocabulary lists \"\(w)\" twice"
        case .unknownWord(let w): return "\"\(w)\" is not in the vocabulary"
        }
    }
}
