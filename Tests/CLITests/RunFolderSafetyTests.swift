import Foundation
import POYOData
import TestSupport
import Testing

/// What keeps a run folder's results whole: one writer at a time, train states that belong to the
/// folder, no leftovers of killed saves, and configs that cannot trap.
@Suite struct RunFolderSafetyTests {
    let runs = ResumeTests()

    /// Two `poyo train` into one `--out` both exited 0 and one run's results vanished (or metrics rows
    /// merged). Now the second fails at once naming the first, and the first completes intact.
    @Test func aSecondWriterFailsAtOnceAndTheFirstCompletes() throws {
        let ws = try runs.workspace()
        defer { try? FileManager.default.removeItem(at: ws) }
        let folder = ws.appendingPathComponent("r")
        let first = try CLI.start([
            "train", "--config", ws.appendingPathComponent("tiny.yaml").path, "--data",
            ws.appendingPathComponent("data").path, "--out", folder.path, "--device", "cpu", "--steps", "300",
            "--checkpoint-every", "1000", "--seed", "7",
        ])
        let pid = "\(first.process.processIdentifier)"
        let lock = folder.appendingPathComponent(".lock")
        let deadline = Date().addingTimeInterval(120)
        while (try? String(contentsOf: lock, encoding: .utf8))?.contains(pid) != true && Date() < deadline {
            usleep(50_000)
        }
        let second = try runs.train(ws, out: "r", device: "cpu", ["--seed", "8"])
        let done = first.wait()
        #expect(second.status == 1 && second.stderr.contains("in use by pid \(pid)"), "\(second.stderr)")
        #expect(done.status == 0, "\(done.stderr)")
        let rows = try runs.metrics(folder)
        #expect(rows.map { $0[0] } == (1...300).map(String.init), "metrics hold the first run's steps once each")
        let config = try String(contentsOf: folder.appendingPathComponent("config.yaml"), encoding: .utf8)
        #expect(config.contains("seed: 7"))
    }

    /// Another model's train_state copied into a run folder was adopted silently (config rewritten,
    /// metrics cut). Now resuming refuses it; a killed save's temp file of a dead process is removed.
    @Test func aForeignTrainStateIsRefusedAndStaleTempFilesGo() throws {
        let ws = try runs.workspace()
        defer { try? FileManager.default.removeItem(at: ws) }
        #expect(try runs.train(ws, out: "a", device: "cpu", ["--steps", "3"]).status == 0)
        let big = ws.appendingPathComponent("big.yaml")
        let text = try String(contentsOf: ws.appendingPathComponent("tiny.yaml"), encoding: .utf8)
        try text.replacingOccurrences(of: "dim: 32", with: "dim: 48").write(to: big, atomically: true, encoding: .utf8)
        let b = try CLI.run([
            "train", "--config", big.path, "--data", ws.appendingPathComponent("data").path, "--out",
            ws.appendingPathComponent("b").path, "--device", "cpu", "--steps", "3",
        ])
        #expect(b.status == 0, "\(b.stderr)")
        let a = ws.appendingPathComponent("a")
        let state = a.appendingPathComponent("train_state.safetensors")
        let own = try Data(contentsOf: state)
        try FileManager.default.removeItem(at: state)
        try FileManager.default.copyItem(at: ws.appendingPathComponent("b/train_state.safetensors"), to: state)
        let foreign = try CLI.run(["train", "--resume", a.path, "--steps", "5", "--device", "cpu"])
        #expect(foreign.status == 1 && foreign.stderr.contains("belongs to another run"), "\(foreign.stderr)")
        #expect(try runs.metrics(a).count == 3, "metrics untouched")
        try own.write(to: state)
        // A save killed between write and rename leaves `.<name>.tmp-<pid>`; pid 2147483646 is never alive.
        let stale = a.appendingPathComponent(".checkpoint.safetensors.tmp-2147483646")
        try Data([1, 2, 3]).write(to: stale)
        let resumed = try CLI.run(["train", "--resume", a.path, "--steps", "5", "--device", "cpu"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(!FileManager.default.fileExists(atPath: stale.path), "stale temp file left behind")
    }

    /// `seed: -1` in a config trapped `poyo train` (exit 132); `--resume` of a file said "cannot create".
    @Test func badSeedAndAFileAsRunFolderAreErrors() throws {
        let ws = try runs.workspace()
        defer { try? FileManager.default.removeItem(at: ws) }
        let cfg = ws.appendingPathComponent("seed.yaml")
        try (tinyConfigYAML + "\nseed: -1\n").write(to: cfg, atomically: true, encoding: .utf8)
        let r = try CLI.run([
            "train", "--config", cfg.path, "--data", ws.appendingPathComponent("data").path, "--out",
            ws.appendingPathComponent("s").path, "--device", "cpu",
        ])
        #expect(r.status == 1 && r.stderr.contains("'seed' must be a non-negative integer"), "\(r.stderr)")
        let file = ws.appendingPathComponent("tiny.yaml").path
        let f = try CLI.run(["train", "--resume", file, "--device", "cpu"])
        #expect(f.status == 1 && f.stderr.contains("is a file, not a run folder"), "\(f.stderr)")
    }
}
