import Testing

@testable import POYOData

/// Vocabularies are sorted as Python sorts strings (by code points), so rows match torch_brain's.
@Suite struct CodePointOrderTests {
    @Test func asciiAndOtherWordsSortByCodePoint() {
        // Upper case before lower, a prefix first, digits by their bytes.
        let ascii = ["b/u10", "B/u2", "a", "ab", "b/u1", "_x", "A", "b/u9", "0"]
        #expect(ascii.sortedByCodePoint() == ["0", "A", "B/u2", "_x", "a", "ab", "b/u1", "b/u10", "b/u9"])
        #expect(ascii.sortedByCodePoint() == ascii.sorted(by: codePointOrder))
        // Swift's `<` treats "é" and "e" + combining acute as equal; code points do not: U+0065 first,
        // and U+00E9 after "z".
        // Compared as code points, since `==` would call the two spellings equal too.
        let other = ["z", "\u{E9}", "e\u{301}", "e", "f"]
        let points = { (words: [String]) in words.map { $0.unicodeScalars.map(\.value) } }
        #expect(points(other.sortedByCodePoint()) == points(["e", "e\u{301}", "f", "z", "\u{E9}"]))
    }
}
