import Foundation
import POYO
import POYOData
import TestSupport
import Testing

/// The run folder, kill-and-resume, graceful stop and damaged files, through the `poyo` binary.
@Suite(.serialized) struct ResumeTests {
    /// A temporary folder with a small synthetic dataset (`data/`), `tiny.yaml` (10 steps, validation
    /// every 4, checkpoint and state every 3) and `plain.yaml` (validation only at the end).
    func workspace() throws -> URL {
        let dir = try makeTempDirectory("resume")
        var c = SyntheticConfig()
        c.trialsPerSession = 20
        try SyntheticDataset.write(to: dir.appendingPathComponent("data"), sessions: 2, heldOut: 0, seed: 11, config: c)
        let tiny =
            tinyConfigYAML.replacingOccurrences(of: "eval_every: 0", with: "eval_every: 4")
            + "\nsteps: 10\ncheckpoint_every: 3\n"
        try tiny.write(to: dir.appendingPathComponent("tiny.yaml"), atomically: true, encoding: .utf8)
        try tinyConfigYAML.write(to: dir.appendingPathComponent("plain.yaml"), atomically: true, encoding: .utf8)
        return dir
    }

    func train(_ ws: URL, out: String, device: String, _ extra: [String] = [], env: [String: String] = [:]) throws
        -> CLIResult
    {
        try CLI.run(
            [
                "train", "--config", ws.appendingPathComponent("tiny.yaml").path, "--data",
                ws.appendingPathComponent("data").path, "--out", ws.appendingPathComponent(out).path,
                "--device", device,
            ] + extra, environment: env)
    }

    /// `metrics.csv` rows as (step, loss text, validation text): the loss is printed exactly.
    func metrics(_ run: URL) throws -> [[String]] {
        let text = try String(contentsOf: run.appendingPathComponent("metrics.csv"), encoding: .utf8)
        return text.split(separator: "\n").dropFirst().map { line in
            let f = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            return [f[0], f[2], f[6]]
        }
    }

    /// SIGKILL in the middle of step 8 (state saved after step 6), then `--resume`: the loss and
    /// validation columns equal an uninterrupted run's, bit for bit, each step once.
    @Test(arguments: ["cpu", "opencl"])
    func killedRunResumesBitIdentical(device: String) throws {
        let ws = try workspace()
        defer { try? FileManager.default.removeItem(at: ws) }
        let a = try train(ws, out: "a", device: device)
        #expect(a.status == 0, "\(a.stderr)")
        let b = try train(ws, out: "b", device: device, env: ["POYO_FAULT_KILL_AT_STEP": "8"])
        #expect(b.signaled && b.status == 9, "expected SIGKILL, got status \(b.status): \(b.stderr)")
        let killed = try metrics(ws.appendingPathComponent("b"))
        #expect(killed.count == 7, "steps 1-7 logged before the kill: \(killed.map { $0[0] })")
        let r = try CLI.run(["train", "--resume", ws.appendingPathComponent("b").path, "--device", device])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("continuing") && r.stderr.contains("at step 6 of 10"), "\(r.stderr)")
        let ma = try metrics(ws.appendingPathComponent("a"))
        let mb = try metrics(ws.appendingPathComponent("b"))
        #expect(ma.map { $0[0] } == (1...10).map(String.init))
        #expect(mb.map { $0[0] } == (1...10).map(String.init), "each step exactly once")
        #expect(ma.map { $0[1] } == mb.map { $0[1] }, "loss columns differ:\n\(ma)\n\(mb)")
        #expect(ma.map { $0[2] } == mb.map { $0[2] }, "validation columns differ")
        let sa = try JSONSerialization.jsonObject(with: Data(contentsOf: ws.appendingPathComponent("a/summary.json")))
        let sb = try JSONSerialization.jsonObject(with: Data(contentsOf: ws.appendingPathComponent("b/summary.json")))
        #expect((sa as? [String: Any])?["val_r2_mean"] as? Double == (sb as? [String: Any])?["val_r2_mean"] as? Double)
        #expect((sb as? [String: Any])?["resumed_from_step"] as? Int == 6)
        for f in ["checkpoint.safetensors", "best.safetensors", "train_state.safetensors", "config.yaml"] {
            #expect(FileManager.default.fileExists(atPath: ws.appendingPathComponent("b/\(f)").path), "missing \(f)")
        }
    }

    /// SIGTERM: the current step finishes, checkpoint and state are saved, the resume line is
    /// printed, exit 143; the folder then resumes to the end.
    @Test func sigtermStopsGracefullyAndResumes() throws {
        let ws = try workspace()
        defer { try? FileManager.default.removeItem(at: ws) }
        let run = ws.appendingPathComponent("t")
        let p = try CLI.start([
            "train", "--config", ws.appendingPathComponent("plain.yaml").path, "--data",
            ws.appendingPathComponent("data").path, "--out", run.path, "--device", "cpu",
            "--steps", "150", "--checkpoint-every", "100",
        ])
        // Wait for a few logged steps, then ask it to stop.
        let deadline = Date().addingTimeInterval(120)
        while Date() < deadline, ((try? metrics(run))?.count ?? 0) < 3 { usleep(20_000) }
        p.signal(SIGTERM)
        let r = p.wait()
        #expect(!r.signaled && r.status == 143, "status \(r.status): \(r.stderr)")
        #expect(r.stderr.contains("Resume with: poyo train --resume \(run.path)"), "\(r.stderr)")
        let stoppedAt = try metrics(run).count
        #expect(stoppedAt >= 3 && stoppedAt < 150)
        let resumed = try CLI.run(["train", "--resume", run.path, "--device", "cpu"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(resumed.stderr.contains("at step \(stoppedAt) of 150"), "\(resumed.stderr)")
        #expect(try metrics(run).map { $0[0] } == (1...150).map(String.init))
    }

    /// Damaged files give one line naming the file and exit 1, never a trap.
    @Test func damagedFilesAreNamed() throws {
        let ws = try workspace()
        defer { try? FileManager.default.removeItem(at: ws) }
        #expect(try train(ws, out: "r", device: "cpu", ["--steps", "3"]).status == 0)
        let run = ws.appendingPathComponent("r")
        func damaged(_ name: String, _ change: (inout Data) -> Void) throws -> URL {
            let copy = ws.appendingPathComponent("damaged-\(UUID().uuidString)")
            try FileManager.default.copyItem(at: run, to: copy)
            let file = copy.appendingPathComponent(name)
            var bytes = try Data(contentsOf: file)
            change(&bytes)
            try bytes.write(to: file)
            return copy
        }
        func expectOneLine(_ r: CLIResult, naming file: URL) {
            #expect(r.status == 1, "status \(r.status): \(r.stderr)")
            let errors = r.stderr.split(separator: "\n").filter { $0.hasPrefix("error:") }
            #expect(errors.count == 1 && errors[0].contains(file.path), "\(r.stderr)")
        }
        for name in ["train_state.safetensors", "checkpoint.safetensors"] {
            let flipped = try damaged(name) { $0[$0.count - 200] ^= 0x04 }
            expectOneLine(
                try CLI.run(["train", "--resume", flipped.path, "--device", "cpu"]),
                naming: flipped.appendingPathComponent(name))
            let cut = try damaged(name) { $0 = $0.prefix($0.count / 2) }
            expectOneLine(
                try CLI.run(["train", "--resume", cut.path, "--device", "cpu"]),
                naming: cut.appendingPathComponent(name))
        }
        let cut = try damaged("checkpoint.safetensors") { $0 = $0.prefix(100) }
        let ckpt = cut.appendingPathComponent("checkpoint.safetensors")
        expectOneLine(
            try CLI.run([
                "eval", "--checkpoint", ckpt.path, "--data", ws.appendingPathComponent("data").path,
                "--device", "cpu",
            ]), naming: ckpt)
    }

    /// The run folder's config reads back as it was; the checkpoint's config keeps real numbers real.
    @Test func runFolderConfigRoundTrips() throws {
        let ws = try workspace()
        defer { try? FileManager.default.removeItem(at: ws) }
        #expect(try train(ws, out: "r", device: "cpu", ["--steps", "2", "--seed", "9"]).status == 0)
        let run = ws.appendingPathComponent("r")
        let cfg = try ConfigFile.load(run.appendingPathComponent("config.yaml").path)
        #expect(cfg.train.steps == 2 && cfg.train.seed == 9 && cfg.model.dim == 32)
        #expect(cfg.dataRoot == ws.appendingPathComponent("data").standardizedFileURL.path)
        #expect(cfg.yaml() == (try String(contentsOf: run.appendingPathComponent("config.yaml"), encoding: .utf8)))
        let meta = try SafeTensorsFile(path: run.appendingPathComponent("checkpoint.safetensors").path).metadata
        let config = meta["config"] ?? ""
        #expect(config.contains("\"sequence_length\": 1.0") && config.contains("\"dim\": 32"), "\(config)")
        // The same config, given back to --config, trains the same run.
        let again = try CLI.run([
            "train", "--config", run.appendingPathComponent("config.yaml").path, "--out",
            ws.appendingPathComponent("again").path, "--device", "cpu",
        ])
        #expect(again.status == 0, "\(again.stderr)")
        #expect(try metrics(run).map { $0[1] } == metrics(ws.appendingPathComponent("again")).map { $0[1] })
    }

    /// What a resume may not change, and a fresh run into a used folder.
    @Test func resumeRefusesChanges() throws {
        let ws = try workspace()
        defer { try? FileManager.default.removeItem(at: ws) }
        #expect(try train(ws, out: "r", device: "cpu", ["--steps", "3"]).status == 0)
        let run = ws.appendingPathComponent("r").path
        let seed = try CLI.run(["train", "--resume", run, "--seed", "4"])
        #expect(seed.status == 64 && seed.stderr.contains("--seed"), "\(seed.stderr)")
        let shorter = try CLI.run(["train", "--resume", run, "--steps", "2", "--device", "cpu"])
        #expect(shorter.status == 1 && shorter.stderr.contains("only be lengthened"), "\(shorter.stderr)")
        let done = try CLI.run(["train", "--resume", run, "--device", "cpu"])
        #expect(done.status == 0 && done.stdout.contains("already complete"), "\(done.stdout)\(done.stderr)")
        let longer = try CLI.run(["train", "--resume", run, "--steps", "5", "--device", "cpu"])
        #expect(longer.status == 0 && longer.stderr.contains("3 → 5 steps"), "\(longer.stderr)")
        #expect(try metrics(ws.appendingPathComponent("r")).map { $0[0] } == ["1", "2", "3", "4", "5"])
        let reuse = try train(ws, out: "r", device: "cpu")
        #expect(reuse.status == 1 && reuse.stderr.contains("already holds a run"), "\(reuse.stderr)")
        let missing = try CLI.run(["train", "--resume", ws.appendingPathComponent("nothing").path, "--device", "cpu"])
        #expect(missing.status == 1 && missing.stderr.contains("train_state.safetensors"), "\(missing.stderr)")
    }
}
