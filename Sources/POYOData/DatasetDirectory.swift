import Foundation

/// A set of recordings with the vocabularies the model embeds: unit ids and session ids, each
/// sorted (as torch_brain passes them to `initialize_vocab`), behind the padding row `"NA"`.
public struct Dataset: Sendable {
    public let recordings: [Recording]
    /// Source file of each recording (empty for in-memory datasets).
    public let files: [URL]
    public let unitVocabulary: Vocabulary
    public let sessionVocabulary: Vocabulary
    /// Repairs the readers made while loading (one line each; callers print them).
    public let warnings: [DataWarning]

    /// Builds the vocabularies from `recordings`. Duplicate session or unit ids are an error.
    public init(recordings: [Recording], files: [URL] = [], warnings: [DataWarning] = []) throws {
        self.recordings = recordings
        self.files = files
        self.warnings = warnings
        do {
            unitVocabulary = try Vocabulary(words: recordings.flatMap(\.unitIDs).sorted(by: codePointOrder))
            sessionVocabulary = try Vocabulary(words: recordings.map(\.sessionID).sorted(by: codePointOrder))
        } catch let VocabularyError.duplicate(word) {
            let at = recordings.firstIndex { $0.sessionID == word || $0.unitIDs.contains(word) }
            let file = at.flatMap { files.indices.contains($0) ? files[$0].path : nil } ?? "dataset"
            throw DataError.invalid(file: file, field: "id", reason: "\"\(word)\" appears in more than one place")
        }
    }

    /// Loads every `*.h5` and `*.nwb` in `directory`, in file-name order (format detected per file;
    /// spikes read per window).
    public static func load(directory: URL, options: ReaderOptions = ReaderOptions()) throws -> Dataset {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDir) else {
            throw DataError.fileNotFound(directory.path)
        }
        guard isDir.boolValue else { throw DataError.io(path: directory.path, reason: "not a directory") }
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        } catch {
            throw DataError.io(path: directory.path, reason: "cannot list directory (\(error.localizedDescription))")
        }
        let files = names.filter { ($0.hasSuffix(".h5") || $0.hasSuffix(".nwb")) && !$0.hasPrefix(".") }
            .sorted(by: codePointOrder).map { directory.appendingPathComponent($0) }
        guard !files.isEmpty else { throw DataError.noRecordings(directory: directory.path) }
        let loaded = try files.map { try RecordingReader.load($0, options: options) }
        return try Dataset(recordings: loaded.map(\.recording), files: files, warnings: loaded.flatMap(\.warnings))
    }

    /// Indices of the recordings marked held-out ("new animal").
    public var heldOutIndices: [Int] { recordings.indices.filter { recordings[$0].heldOut } }

    /// A dataset of the recordings with `heldOut == flag`, with its own vocabularies
    /// (pre-training uses `subset(heldOut: false)`).
    public func subset(heldOut flag: Bool) throws -> Dataset {
        let keep = recordings.indices.filter { recordings[$0].heldOut == flag }
        let keptFiles = files.count == recordings.count ? keep.map { files[$0] } : []
        let paths = Set(keptFiles.map(\.path))
        return try Dataset(
            recordings: keep.map { recordings[$0] }, files: keptFiles,
            warnings: warnings.filter { paths.isEmpty || paths.contains($0.file) })
    }

    public var sessionIDs: [String] { recordings.map(\.sessionID) }
}

/// Orders strings by Unicode code points, as Python's `sorted` does (Swift's `<` may not).
func codePointOrder(_ a: String, _ b: String) -> Bool {
    a.unicodeScalars.lexicographicallyPrecedes(b.unicodeScalars)
}
