import Foundation
import TestSupport
import Testing

@testable import POYOData

/// `RecordingIndexCache`: a second open skips the reader child, and a file that changed (or an
/// entry that is damaged) is read again (issue 24).
@Suite struct IndexCacheTests {
    func options(_ cache: URL) -> ReaderOptions {
        var o = ReaderOptions()
        o.indexCache = .folder(cache.path)
        return o
    }

    /// `file` read by a reader child, without the cache.
    func uncachedRead(_ file: URL) throws -> LoadedRecording {
        var o = ReaderOptions()
        o.indexCache = .off
        return try RecordingReader.load(file, options: o)
    }

    /// What a read gave, for comparing a cached open with a fresh one.
    func facts(_ l: LoadedRecording) -> [String] {
        let r = l.recording
        return [
            r.sessionID, "\(r.spikeCount)", r.unitIDs.joined(separator: ","), "\(r.behaviourTimes.count)",
            "\(r.behaviour.reduce(0, +))", "\(r.trainDomain.starts)", "\(l.warnings.count)",
        ]
    }

    @Test func aSecondOpenUsesTheCacheAndAStaleEntryIsReadAgain() throws {
        let dir = try makeTempDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let cache = dir.appendingPathComponent("index")
        let data = dir.appendingPathComponent("data")
        let other = dir.appendingPathComponent("other")
        let files = try SyntheticDataset.write(
            to: data, sessions: 1, heldOut: 0, seed: 7, config: smallSyntheticConfig(trials: 5))
        let replacement = try SyntheticDataset.write(
            to: other, sessions: 1, heldOut: 0, seed: 8, config: smallSyntheticConfig(trials: 7))
        let file = files[0]
        let uncached = facts(try uncachedRead(file))

        let first = try RecordingReader.load(file, options: options(cache))
        let firstCached = first.fromIndexCache
        #expect(firstCached == false)
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: cache.path).filter { $0.hasSuffix(".index") }.count == 1
        )
        let second = try RecordingReader.load(file, options: options(cache))
        let secondCached = second.fromIndexCache
        #expect(secondCached == true, "the second open ran a reader child")
        #expect(facts(second) == uncached)
        // Spikes still come from the file (the cache holds where they are, not the spikes).
        let a = try second.recording.windowSpikes(from: 1, to: 3)
        let b = try first.recording.windowSpikes(from: 1, to: 3)
        #expect(a.times == b.times && a.units == b.units && !a.times.isEmpty)

        // The file is replaced by another recording under the same name, and its modification time
        // set back to the old one: the entry is stale (size and content hash differ) and is not used.
        var st = stat()
        #expect(stat(file.path, &st) == 0)
        try FileManager.default.removeItem(at: file)
        try FileManager.default.copyItem(at: replacement[0], to: file)
        var times = [st.st_atim, st.st_mtim]
        #expect(utimensat(AT_FDCWD, file.path, &times, 0) == 0)
        let fresh = facts(try uncachedRead(file))
        #expect(fresh != uncached)
        let third = try RecordingReader.load(file, options: options(cache))
        let thirdCached = third.fromIndexCache
        #expect(thirdCached == false, "a stale entry was used")
        #expect(facts(third) == fresh)
        let fourth = try RecordingReader.load(file, options: options(cache))
        let fourthCached = fourth.fromIndexCache
        #expect(fourthCached == true, "the entry was not replaced")
        #expect(facts(fourth) == fresh)
    }

    @Test func aDamagedEntryOrOtherSettingsAreNotUsed() throws {
        let dir = try makeTempDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let cache = dir.appendingPathComponent("index")
        let files = try SyntheticDataset.write(
            to: dir.appendingPathComponent("data"), sessions: 1, heldOut: 0, seed: 7,
            config: smallSyntheticConfig(trials: 5))
        let first = try RecordingReader.load(files[0], options: options(cache))
        let entries = try FileManager.default.contentsOfDirectory(atPath: cache.path).filter { $0.hasSuffix(".index") }
        let entry = cache.appendingPathComponent(try #require(entries.first))
        var bytes = [UInt8](try Data(contentsOf: entry))
        bytes[bytes.count - 100] ^= 0x40
        try Data(bytes).write(to: entry)
        let again = try RecordingReader.load(files[0], options: options(cache))
        let againCached = again.fromIndexCache
        #expect(againCached == false, "a damaged entry was used")
        #expect(facts(again) == facts(first))
        let rereadCached = try RecordingReader.load(files[0], options: options(cache)).fromIndexCache
        #expect(rereadCached == true)
        // Other reader settings are another entry: the cached one does not answer for them.
        var renamed = options(cache)
        renamed.sessionID = "renamed"
        let other = try RecordingReader.load(files[0], options: renamed)
        let otherCached = other.fromIndexCache
        #expect(otherCached == false)
        #expect(other.recording.sessionID == "renamed")
        // A different time limit is not a different read.
        var patient = options(cache)
        patient.timeout = 999
        let patientCached = try RecordingReader.load(files[0], options: patient).fromIndexCache
        #expect(patientCached == true)
    }

    /// A folder of recordings opens in parallel, in file order, and says how long it took.
    @Test func aFolderOpensInOrderWithItsTiming() throws {
        let dir = try makeTempDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let data = dir.appendingPathComponent("data")
        _ = try SyntheticDataset.write(
            to: data, sessions: 5, heldOut: 1, seed: 3, config: smallSyntheticConfig(trials: 4))
        let o = options(dir.appendingPathComponent("index"))
        let cold = try Dataset.load(directory: data, options: o)
        let warm = try Dataset.load(directory: data, options: o)
        #expect(cold.files.map(\.lastPathComponent) == (0..<6).map { String(format: "synth_s%02d_center_out.h5", $0) })
        #expect(warm.sessionIDs == cold.sessionIDs)
        #expect(cold.indexCacheHits == 0 && warm.indexCacheHits == 6)
        #expect(cold.openingReport?.hasPrefix("opened 6 recordings in ") == true)
        #expect(warm.openingReport?.hasSuffix("every index from the cache") == true)
        // A broken file among them: the first broken one in file order is reported.
        try Data([1, 2, 3]).write(to: data.appendingPathComponent("synth_s02_center_out.h5"))
        try Data([4, 5, 6]).write(to: data.appendingPathComponent("synth_s04_center_out.h5"))
        #expect {
            _ = try Dataset.load(directory: data, options: o)
        } throws: { error in
            "\(error)".contains("synth_s02_center_out.h5")
        }
    }

    /// With one worker, eight uncached files go two to a reader child: each recording is what a
    /// child of its own gives, and a broken file is reported as a read of it alone reports it.
    @Test func filesReadSeveralToAChildMatchOneByOne() throws {
        let dir = try makeTempDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let files = try SyntheticDataset.write(
            to: dir, sessions: 7, heldOut: 1, seed: 5, config: smallSyntheticConfig(trials: 3))
        var o = ReaderOptions()
        o.indexCache = .off
        let together = try RecordingReader.loadAll(files.map { ($0, o) }, workers: 1)
        #expect(try together.map(facts) == files.map { try facts(uncachedRead($0)) })
        #expect(together.allSatisfy { !$0.fromIndexCache })

        try Data(repeating: 9, count: 4096).write(to: files[3])
        var alone = ""
        do { _ = try uncachedRead(files[3]) } catch { alone = "\(error)" }
        #expect(alone.contains(files[3].lastPathComponent))
        #expect {
            _ = try RecordingReader.loadAll(files.map { ($0, o) }, workers: 1)
        } throws: { error in
            "\(error)" == alone
        }
    }
}
