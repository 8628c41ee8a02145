import Foundation
import TestSupport
import Testing

@testable import POYOData

@Suite struct BrainsetsTests {
    @Test func writeThenReadGivesTheSameRecording() throws {
        let dir = try makeTempDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        for r in [tinyRecording(heldOut: true)]
            + SyntheticDataset.generate(
                sessions: 1, heldOut: 0, seed: 3,
                config: smallSyntheticConfig(trials: 6))
        {
            let url = dir.appendingPathComponent("\(r.sessionID).h5")
            try BrainsetsWriter.write(r, to: url)
            let back = try BrainsetsReader.read(url)
            // `cursor/pos` is written (torch_brain reads it) but not read back: nothing trains on it.
            #expect(try HDF5File(readingAt: url.path).exists("cursor/pos") == !r.position.isEmpty)
            var expected = r
            expected.position = []
            #expect(back.isLazy && back.spikeCount == r.spikeCount)
            #expect(try back.materialized() == expected)
            var o = ReaderOptions()
            o.lazySpikes = false
            #expect(try BrainsetsReader.read(url, options: o) == expected)
            // Writing a lazy recording reads its spikes from the file first.
            let copy = dir.appendingPathComponent("copy.h5")
            try BrainsetsWriter.write(back, to: copy)
            #expect(try BrainsetsReader.read(copy, options: o) == expected)
        }
    }

    /// Every spike outside the domain (times shifted by 10,000 s) trained and printed an R² with only
    /// warnings; NaN behaviour throughout a split likewise. Both are errors naming the file and split,
    /// in memory and lazily.
    @Test(arguments: [true, false])
    func aSplitWithNoSpikesOrNoBehaviourIsAnError(lazy: Bool) throws {
        let dir = try makeTempDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        var o = ReaderOptions()
        o.lazySpikes = lazy
        var shifted = tinyRecording()
        shifted.spikeTimes = shifted.spikeTimes.map { $0 + 10_000 }
        shifted.domain = Intervals([Interval(0, 10_004)])
        let far = dir.appendingPathComponent("far.h5")
        try BrainsetsWriter.write(shifted, to: far)
        do {
            _ = try BrainsetsReader.read(far, options: o)
            Issue.record("a recording without spikes in its training split was read")
        } catch {
            #expect(
                "\(error)".contains("far.h5") && "\(error)".contains("no spike lies in the train split"), "\(error)")
        }
        var blank = tinyRecording()
        blank.behaviour = blank.behaviour.map { _ in Float.nan }
        let nan = dir.appendingPathComponent("nan.h5")
        try BrainsetsWriter.write(blank, to: nan)
        do {
            _ = try BrainsetsReader.read(nan, options: o)
            Issue.record("a recording without finite behaviour in its training split was read")
        } catch {
            #expect("\(error)".contains("no finite behaviour sample lies in the train split"), "\(error)")
        }
    }

    @Test func layoutFollowsTemporaldata() throws {
        let dir = try makeTempDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("tiny.h5")
        try BrainsetsWriter.write(tinyRecording(), to: url)
        let f = try HDF5File(readingAt: url.path)
        #expect(try f.attributeString("object", at: "spikes") == "IrregularTimeSeries")
        #expect(try f.attributeStrings("timekeys", at: "spikes") == ["timestamps"])
        #expect(try f.attributeString("object", at: "units") == "ArrayDict")
        #expect(try f.attributeStrings("_unicode_keys", at: "units") == ["id"])
        #expect(try f.readStrings("units/id") == ["a", "b", "c"])  // local ids on disk
        #expect(try f.attributeString("object", at: "train_domain") == "Interval")
        #expect(try f.attributeString("id", at: "session") == "tiny")
        // searchsorted(spikes, arange(0, 4 + 1, 1)) over [0.05, 0.2, 0.2, 0.7, 1.0, 1.5, 2.5, 3.9]
        #expect(try f.readInt64s("spikes/timestamp_indices_1s") == [0, 4, 6, 7, 8])
        #expect(try f.typeClass("units/id") == .string)
    }

    @Test func missingFileIsNamed() throws {
        let path = "/nonexistent/dir/rec.h5"
        let error = #expect(throws: DataError.self) { try BrainsetsReader.read(URL(fileURLWithPath: path)) }
        #expect(error == .fileNotFound(path))
        #expect(error?.description.contains(path) == true)
    }

    @Test func textFileIsNotHDF5() throws {
        let dir = try makeTempDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("notes.h5")
        try "just some text\n".write(to: url, atomically: true, encoding: .utf8)
        let error = #expect(throws: DataError.self) { try BrainsetsReader.read(url) }
        #expect(error == .notHDF5(url.path))
        #expect(error?.description == "\(url.path): not an HDF5 file")
    }

    @Test func fileWithoutSpikesNamesTheGroup() throws {
        let dir = try makeTempDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("nospikes.h5")
        do {
            let f = try HDF5File(creatingAt: url.path)
            try f.createGroup("session")
            try f.setAttribute("id", string: "s", at: "session")
        }
        let error = #expect(throws: DataError.self) { try BrainsetsReader.read(url) }
        #expect(error == .missing(file: url.path, field: "spikes"))
        #expect(error?.description == "\(url.path): missing 'spikes'")
    }

    @Test func missingBehaviourIsNamed() throws {
        let dir = try makeTempDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("r.h5")
        try BrainsetsWriter.write(tinyRecording(), to: url)
        var options = ReaderOptions()
        options.behaviour = "hand"
        #expect(throws: DataError.missing(file: url.path, field: "hand")) {
            try BrainsetsReader.read(url, options: options)
        }
    }

    @Test func unsortedSpikesAndBadUnitsAreRejected() throws {
        let dir = try makeTempDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("bad.h5")
        var r = tinyRecording()
        r.spikeTimes.swapAt(0, 1)
        try BrainsetsWriter.writeContents(r, path: url.path)  // skips validation on purpose
        // Unsorted spikes are repaired (sorted in memory) with a warning naming the dataset.
        let loaded = try RecordingReader.load(url)
        #expect(loaded.warnings.count == 1)
        #expect(loaded.warnings.first?.field == "spikes/timestamps")
        #expect(loaded.warnings.first?.message.contains("not sorted") == true)
        let fixed = loaded.recording
        let original = tinyRecording()
        #expect(!fixed.isLazy && fixed.spikeTimes == original.spikeTimes)
        #expect(fixed.spikeUnit.sorted() == original.spikeUnit.sorted())

        r = tinyRecording()
        r.spikeUnit[3] = 9
        #expect(throws: DataError.self) { try BrainsetsWriter.write(r, to: url) }  // writer validates too
        try BrainsetsWriter.writeContents(r, path: url.path)
        #expect(
            throws: DataError.invalid(
                file: url.path, field: "spikes/unit_index",
                reason: "spike 3 has unit 9, outside 0..<3")
        ) { try BrainsetsReader.read(url) }

        r = tinyRecording()
        r.spikeTimes[7] = .nan
        try BrainsetsWriter.writeContents(r, path: url.path)
        #expect(throws: DataError.invalid(file: url.path, field: "spikes/timestamps", reason: "entry 7 is nan")) {
            try BrainsetsReader.read(url)
        }
    }

    @Test func writerLeavesNoPartialFile() throws {
        let dir = try makeTempDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        var r = tinyRecording()
        r.spikeUnit[0] = -1
        let url = dir.appendingPathComponent("r.h5")
        #expect(throws: DataError.self) { try BrainsetsWriter.write(r, to: url) }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty)
    }
}
