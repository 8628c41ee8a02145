import Foundation
import TestSupport
import Testing

@testable import POYOData

@Suite struct EvaluationTests {
    @Test func r2OfKnownPredictions() {
        let y: [Double] = [1, 10, 2, 20, 3, 30, 4, 40]  // [4, 2]
        #expect(r2Score(predictions: y, targets: y, dim: 2) == 1)
        let mean: [Double] = [2.5, 25, 2.5, 25, 2.5, 25, 2.5, 25]
        #expect(r2Score(predictions: mean, targets: y, dim: 2) == 0)
        // Dim 0 perfect (1), dim 1 off by 10 everywhere: 1 − 400/500 = 0.2 → mean 0.6.
        let p: [Double] = [1, 20, 2, 30, 3, 40, 4, 50]
        #expect(abs(r2Score(predictions: p, targets: y, dim: 2) - 0.6) < 1e-12)
        // Constant targets: exact → 1, otherwise 0; no rows → NaN.
        #expect(r2Score(predictions: [5, 5], targets: [5, 5], dim: 1) == 1)
        #expect(r2Score(predictions: [5, 6], targets: [5, 5], dim: 1) == 0)
        #expect(r2Score(predictions: [], targets: [], dim: 2).isNaN)
    }

    @Test func stitcherAveragesSharedKeysAndScoresPerRecording() throws {
        var s = Stitcher(dim: 1)
        let k = { (r: Int32, i: Int32, scored: Bool) in EvalKey(recording: r, sample: i, scored: scored) }
        // Recording 0: samples 0..3; sample 1 and 2 predicted twice (overlapping windows).
        try s.add(keys: [k(0, 0, true), k(0, 1, true), k(0, 2, true)], predictions: [0, 1, 3], targets: [0, 1, 2])
        try s.add(
            keys: [k(0, 1, true), k(0, 2, true), k(0, 3, true), k(0, 4, false)],
            predictions: [1, 1, 3, 100], targets: [1, 2, 3, 9])
        // Recording 1: perfect mean prediction → 0; recording 2: nothing scored → left out.
        try s.add(keys: [k(1, 0, true), k(1, 1, true), k(2, 0, false)], predictions: [1, 1, 7], targets: [0, 2, 7])
        #expect(s.sampleCount == 8)
        let (p, t) = s.stitched(recording: 0)
        #expect(p == [0, 1, 2, 3] && t == [0, 1, 2, 3])
        let report = s.r2()
        #expect(report.perRecording == [0: 1, 1: 0])
        #expect(report.mean == 0.5)
        #expect(report.bySession(["a", "b", "c"]) == ["a": 1, "b": 0])
        #expect(throws: EvaluationError.self) { try s.add(keys: [k(0, 0, true)], predictions: [1, 2], targets: [1]) }
        #expect(Stitcher().r2().mean.isNaN)
    }
}

@Suite struct DatasetTests {
    @Test func loadsADirectoryInNameOrderWithSortedVocabularies() throws {
        let dir = try makeTempDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try BrainsetsWriter.write(tinyRecording(session: "zeta", heldOut: true), to: dir.appendingPathComponent("b.h5"))
        try BrainsetsWriter.write(tinyRecording(session: "alpha"), to: dir.appendingPathComponent("c.h5"))
        try BrainsetsWriter.write(tinyRecording(session: "Mid"), to: dir.appendingPathComponent("a.h5"))
        try "ignored".write(to: dir.appendingPathComponent("notes.txt"), atomically: true, encoding: .utf8)
        let d = try Dataset.load(directory: dir)
        #expect(d.sessionIDs == ["Mid", "zeta", "alpha"])  // file-name order
        #expect(d.sessionVocabulary.words == ["NA", "Mid", "alpha", "zeta"])  // code-point order
        #expect(d.unitVocabulary.count == 10)
        #expect(d.unitVocabulary.words[1] == "Mid/a")
        #expect(d.heldOutIndices == [1])
        let pre = try d.subset(heldOut: false)
        #expect(pre.sessionIDs == ["Mid", "alpha"] && pre.unitVocabulary.count == 7)
        #expect(pre.files.map(\.lastPathComponent) == ["a.h5", "c.h5"])
    }

    @Test func emptyOrMissingDirectoriesAreNamed() throws {
        let dir = try makeTempDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(throws: DataError.noRecordings(directory: dir.path)) { try Dataset.load(directory: dir) }
        let missing = dir.appendingPathComponent("nope")
        #expect(throws: DataError.fileNotFound(missing.path)) { try Dataset.load(directory: missing) }
    }

    @Test func duplicateSessionsAreRejected() {
        #expect(throws: DataError.self) { try Dataset(recordings: [tinyRecording(), tinyRecording()]) }
    }

    /// The same file given twice names both files and says so, not the first unit (reliability probe D10).
    @Test func aRecordingGivenTwiceNamesBothFiles() throws {
        let dir = try makeTempDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let a = dir.appendingPathComponent("a.h5")
        let b = dir.appendingPathComponent("b.h5")
        try BrainsetsWriter.write(tinyRecording(), to: a)
        try FileManager.default.copyItem(at: a, to: b)
        let reason =
            "session \"tiny\" is also in \(b.path) (same units and spike count: the same recording given twice?)"
        #expect(throws: DataError.invalid(file: a.path, field: "session id", reason: reason)) {
            try Dataset.load(directory: dir)
        }
        var twice = tinyRecording()
        twice.unitIDs[1] = twice.unitIDs[0]
        #expect(
            throws: DataError.invalid(
                file: "recording 1 (session tiny)", field: "units", reason: "unit \"tiny/a\" is listed twice")
        ) {
            try Dataset(recordings: [twice])
        }
    }

    /// A symbolic link loop or a dangling link is named as such, not as a missing file (reliability probe D10).
    @Test func symbolicLinkLoopsAreNamed() throws {
        let dir = try makeTempDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let a = dir.appendingPathComponent("a.h5")
        let b = dir.appendingPathComponent("b.h5")
        try FileManager.default.createSymbolicLink(atPath: a.path, withDestinationPath: b.path)
        try FileManager.default.createSymbolicLink(atPath: b.path, withDestinationPath: a.path)
        let loop = DataError.io(path: a.path, reason: "a symbolic link loop (too many levels of symbolic links)")
        #expect(throws: loop) { try RecordingReader.load(a) }
        #expect(throws: loop) {
            try DatasetSpec(recordings: [RecordingSpec(path: a.path)]).files(RecordingSpec(path: a.path))
        }
        let dangling = dir.appendingPathComponent("c.h5")
        try FileManager.default.createSymbolicLink(atPath: dangling.path, withDestinationPath: "/nonexistent/x.h5")
        #expect(throws: DataError.io(path: dangling.path, reason: "a symbolic link to a missing file")) {
            try RecordingReader.load(dangling)
        }
        #expect(throws: DataError.fileNotFound(dir.appendingPathComponent("none.h5").path)) {
            try RecordingReader.load(dir.appendingPathComponent("none.h5"))
        }
    }
}
