import Compute
import Foundation
import POYO
import POYOData
import TestSupport
import Testing

@Suite struct CheckpointTests {
    @Test func roundTripGivesSamePredictions() throws {
        let dir = try makeTempDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let data = try Small.dataset()
        let m = try Small.model(data, seed: 9)
        let path = dir.appendingPathComponent("ck.safetensors").path
        try Checkpoint.save(m, to: path, extra: ["note": "test"])
        let (m2, meta) = try Checkpoint.load(path, device: CPUDevice())
        #expect(meta["note"] == "test")
        // The header alone gives the same metadata; a file shorter than its header is an error.
        #expect(try SafeTensorsFile.metadata(atPath: path) == meta)
        let cut = dir.appendingPathComponent("cut.safetensors")
        try Data(try Data(contentsOf: URL(fileURLWithPath: path)).prefix(20)).write(to: cut)
        #expect(throws: SafeTensorsError.self) { _ = try SafeTensorsFile.metadata(atPath: cut.path) }
        try FileManager.default.removeItem(at: cut)
        #expect(m2.config == m.config && m2.unitVocab == m.unitVocab && m2.sessionVocab == m.sessionVocab)
        let b = SyntheticBatch.make(
            config: Small.config, windows: 2, units: 3, spikesPerWindow: 9, outputsPerWindow: 5,
            unitVocabSize: m.unitVocab.count, sessionVocabSize: m.sessionVocab.count, seed: 4)
        let p1 = try m.device.download(try m.forward(try m.prepare(b)).prediction)
        let p2 = try m2.device.download(try m2.forward(try m2.prepare(b)).prediction)
        #expect(p1 == p2)
        // Atomic write: nothing but the checkpoint is left in the folder.
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["ck.safetensors"])
    }

    /// Scoring reads each session the checkpoint knows with its carried settings; one it knows but
    /// carries none for is an error naming it; unreadable settings name the checkpoint.
    @Test func scoringNeedsSettingsForEverySessionTheCheckpointKnows() throws {
        let dir = try makeTempDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        var c = SyntheticConfig()
        c.trialsPerSession = 6
        try SyntheticDataset.write(to: dir, sessions: 2, heldOut: 0, seed: 5, config: c)
        var cfg = ConfigFile()
        cfg.dataRoot = dir.path
        let (plain, _) = try cfg.loadData()
        let vocab = plain.sessionVocabulary
        let first = plain.recordings[0].sessionID
        let second = plain.recordings[1].sessionID
        var carried = plain.settings
        carried[first]?.normalizeStd = [3, 3]
        let (scored, _) = try cfg.loadData(
            scoring: "ck", settings: carried, sessionVocab: vocab, configWins: false, note: { _ in })
        #expect(scored.recordings[0].normalizationStd == [3, 3])
        #expect(scored.recordings[1].normalizationStd == plain.recordings[1].normalizationStd)
        let (overridden, _) = try cfg.loadData(
            scoring: "ck", settings: carried, sessionVocab: vocab, configWins: true, note: { _ in })
        #expect(overridden.recordings[0].normalizationStd == plain.recordings[0].normalizationStd)
        carried[second] = nil
        let error = #expect(throws: POYOError.self) {
            _ = try cfg.loadData(
                scoring: "ck", settings: carried, sessionVocab: vocab, configWins: false, note: { _ in })
        }
        #expect(error.map { "\($0)" }?.contains("carries no data settings for session \(second)") == true)
        #expect(throws: POYOError.self) {
            _ = try Checkpoint.dataSettings([Checkpoint.dataSettingsKey: "{not json"], path: "ck")
        }
    }

    @Test func rejectsFilesThatAreNotCheckpoints() throws {
        let dir = try makeTempDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let garbage = dir.appendingPathComponent("garbage.safetensors").path
        _ = FileManager.default.createFile(atPath: garbage, contents: Data("hello, not a checkpoint".utf8))
        #expect(throws: SafeTensorsError.self) { try Checkpoint.load(garbage, device: CPUDevice()) }
        #expect(throws: SafeTensorsError.self) {
            try Checkpoint.load(dir.appendingPathComponent("absent").path, device: CPUDevice())
        }

        var w = SafeTensorsWriter()
        w.add("x", floats: [1, 2], shape: [2])
        let plain = dir.appendingPathComponent("plain.safetensors").path
        try w.write(to: plain)
        #expect(throws: POYOError.self) { try Checkpoint.load(plain, device: CPUDevice()) }
    }

    @Test func truncatedCheckpointIsAnError() throws {
        let dir = try makeTempDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let m = try Small.model(try Small.dataset())
        let path = dir.appendingPathComponent("ck.safetensors").path
        try Checkpoint.save(m, to: path)
        let full = try Data(contentsOf: URL(fileURLWithPath: path))
        try full.prefix(full.count - 100).write(to: URL(fileURLWithPath: path))
        #expect(throws: SafeTensorsError.self) { try Checkpoint.load(path, device: CPUDevice()) }
    }

    @Test func safetensorsRoundTrip() throws {
        var w = SafeTensorsWriter()
        w.add("a", floats: [1.5, -2], shape: [1, 2])
        w.add("b", int64s: [7, 8, 9], shape: [3])
        w.add("c", doubles: [0.1], shape: [1])
        w.metadata["k"] = "v"
        let f = try SafeTensorsFile(data: try w.encoded(), path: "mem")
        #expect(try f.floats("a") == [1.5, -2] && f.entries["a"]?.shape == [1, 2])
        #expect(try f.int64s("b") == [7, 8, 9])
        #expect(try f.doubles("c") == [0.1])
        #expect(f.metadata["k"] == "v")
        #expect(throws: SafeTensorsError.self) { try f.floats("b") }
        #expect(throws: SafeTensorsError.self) { try f.floats("zz") }
    }
}
