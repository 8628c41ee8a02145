import Compute
import Foundation
import POYOData
import TestSupport
import Testing

/// End-to-end runs of the `poyo` binary: outputs, exit codes and one-line errors.
@Suite(.serialized) struct CLITests {
    /// A small synthetic dataset (2 + 1 held-out sessions, few trials) written once per test.
    func smallDataset() throws -> URL {
        let dir = try makeTempDirectory()
        var c = SyntheticConfig()
        c.trialsPerSession = 20
        try SyntheticDataset.write(to: dir, sessions: 2, heldOut: 1, seed: 11, config: c)
        return dir
    }

    @Test func synthWritesOneFilePerSession() throws {
        let dir = try makeTempDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try CLI.run(["synth", "--out", dir.path, "--sessions", "2", "--seed", "3"])
        #expect(r.status == 0, "\(r.stderr)")
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted()
        #expect(files == ["synth_s00_center_out.h5", "synth_s01_center_out.h5", "synth_s02_center_out.h5"])
    }

    /// Many sessions (issue 24): the R² table becomes a summary past 20 sessions (every figure
    /// still in summary.json), the opening is reported once, the "no preset" notes make one line,
    /// and `eval_every: 0` on a short run does not save at every step.
    @Test func manySessionsPrintASummary() throws {
        let dir = try makeTempDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let data = dir.appendingPathComponent("data")
        let s = try CLI.run(["synth", "--out", data.path, "--sessions", "22", "--minutes", "0.5", "--varied"])
        #expect(s.status == 0, "\(s.stderr)")
        #expect(s.stderr.contains("synth: 23 sessions"))
        let cfg = dir.appendingPathComponent("tiny.yaml")
        try tinyConfigYAML.write(to: cfg, atomically: true, encoding: .utf8)
        let run = dir.appendingPathComponent("run")
        let t = try CLI.run(
            ["train", "--config", cfg.path, "--data", data.path, "--out", run.path, "--steps", "2", "--device", "cpu"],
            environment: ["POYO_INDEX_CACHE": dir.appendingPathComponent("index").path])
        #expect(t.status == 0, "\(t.stderr)")
        #expect(t.stdout.contains("  22 sessions: mean "), "\(t.stdout)")
        #expect(t.stdout.contains("  the five worst:") && t.stdout.contains("  the five best:"))
        #expect(t.stdout.components(separatedBy: "\n").filter { $0.hasPrefix("    synth_s") }.count == 10)
        #expect(t.stderr.contains("data: opened 23 recordings in "))
        #expect(t.stderr.components(separatedBy: "\n").filter { $0.contains("no preset for") }.count == 1)
        #expect(t.stderr.contains("(checkpoint and train state every 100 steps)"))
        #expect(t.stderr.contains("data wait: "))
        let summary = try JSONSerialization.jsonObject(
            with: Data(contentsOf: run.appendingPathComponent("summary.json")))
        let r2 = try #require((summary as? [String: Any])?["val_r2"] as? [String: Double])
        #expect(r2.count == 22)
    }

    @Test func trainThenEvalReproducesValidation() throws {
        let data = try smallDataset()
        let out = try makeTempDirectory()
        defer {
            try? FileManager.default.removeItem(at: data)
            try? FileManager.default.removeItem(at: out)
        }
        let cfg = out.appendingPathComponent("tiny.yaml")
        try tinyConfigYAML.write(to: cfg, atomically: true, encoding: .utf8)
        let run = out.appendingPathComponent("run")
        let t = try CLI.run([
            "train", "--config", cfg.path, "--data", data.path, "--out", run.path,
            "--steps", "4", "--seed", "3", "--device", "cpu",
        ])
        #expect(t.status == 0, "train failed: \(t.stderr)")
        #expect(t.stderr.contains("step 4/4"), "no progress lines: \(t.stderr)")
        #expect(t.stdout.contains("synth_s00_center_out") && t.stdout.contains("mean R²"))
        for f in ["checkpoint.safetensors", "metrics.csv", "summary.json"] {
            #expect(FileManager.default.fileExists(atPath: run.appendingPathComponent(f).path), "missing \(f)")
        }
        let summary =
            try JSONSerialization.jsonObject(with: Data(contentsOf: run.appendingPathComponent("summary.json")))
            as! [String: Any]
        let val = summary["val_r2_mean"] as! Double
        #expect(
            (summary["val_r2"] as! [String: Double]).keys.sorted() == ["synth_s00_center_out", "synth_s01_center_out"])
        #expect(summary["steps"] as? Int == 4 && summary["seconds"] is Double && summary["device"] is String)
        let csv = try String(contentsOf: run.appendingPathComponent("metrics.csv"), encoding: .utf8)
        #expect(csv.split(separator: "\n").count == 5, "header + 4 steps:\n\(csv)")

        let e = try CLI.run([
            "eval", "--checkpoint", run.appendingPathComponent("checkpoint.safetensors").path,
            "--data", data.path, "--json", "--device", "cpu",
        ])
        #expect(e.status == 0, "eval failed: \(e.stderr)")
        let json = try JSONSerialization.jsonObject(with: Data(e.stdout.utf8)) as! [String: Any]
        let evalMean = json["r2_mean"] as! Double
        #expect(abs(evalMean - val) <= 0.005, "eval \(evalMean) vs train's validation \(val)")
        #expect(e.stderr.contains("synth_s02_center_out"), "held-out session should be reported as skipped")
    }

    /// A checkpoint carries the data settings it was trained with: a run whose config normalises by
    /// a std unlike the file's own is scored by `poyo eval` without `--config` as in training;
    /// with a `--config` of other settings, eval says it overrides them and the figure moves.
    @Test func evalReadsDataWithTheCheckpointsSettings() throws {
        let data = try smallDataset()
        let out = try makeTempDirectory()
        defer {
            try? FileManager.default.removeItem(at: data)
            try? FileManager.default.removeItem(at: out)
        }
        let files = try FileManager.default.contentsOfDirectory(atPath: data.path).sorted().filter {
            $0.hasSuffix(".h5")
        }
        let stdFile = try RecordingReader.load(data.appendingPathComponent(files[0])).recording.normalizationStd
        let cfg = out.appendingPathComponent("run.yaml")
        try (tinyConfigYAML + "\ndataset:\n  - path: \(data.path)\n    normalize_std: 4.0\n    eval_interval: all\n")
            .write(to: cfg, atomically: true, encoding: .utf8)
        #expect(!stdFile.contains(4), "the file's own std must differ from the config's")
        let run = out.appendingPathComponent("run")
        let t = try CLI.run([
            "train", "--config", cfg.path, "--out", run.path, "--steps", "40", "--seed", "3", "--device", "cpu",
        ])
        #expect(t.status == 0, "train failed: \(t.stderr)")
        let summary =
            try JSONSerialization.jsonObject(with: Data(contentsOf: run.appendingPathComponent("summary.json")))
            as! [String: Any]
        let val = summary["val_r2_mean"] as! Double

        let e = try CLI.run(["eval", "--checkpoint", run.path, "--data", data.path, "--json", "--device", "cpu"])
        #expect(e.status == 0, "eval failed: \(e.stderr)")
        #expect(e.stderr.contains("read with the data settings it was trained with"), "\(e.stderr)")
        let evalMean =
            (try JSONSerialization.jsonObject(with: Data(e.stdout.utf8)) as! [String: Any])["r2_mean"] as! Double
        #expect(abs(evalMean - val) <= 0.005, "eval \(evalMean) vs train's validation \(val)")

        // The file's own settings (what eval used before checkpoints carried them) score differently.
        let plain = out.appendingPathComponent("plain.yaml")
        try "dataset:\n  - path: \(data.path)\n".write(to: plain, atomically: true, encoding: .utf8)
        let o = try CLI.run(["eval", "--checkpoint", run.path, "--config", plain.path, "--json", "--device", "cpu"])
        #expect(o.status == 0, "eval --config failed: \(o.stderr)")
        #expect(o.stderr.contains("data settings from \(plain.path) (they replace the checkpoint's)"), "\(o.stderr)")
        let other =
            (try JSONSerialization.jsonObject(with: Data(o.stdout.utf8)) as! [String: Any])["r2_mean"] as! Double
        #expect(abs(other - val) > 0.005, "other settings should score differently: \(other) vs \(val)")
    }

    /// Trials shorter than the 1 s window (issue 14): training and `poyo eval` say what they used,
    /// and eval scores every test sample inside a trial and the eval mask.
    @Test func shortTrialsAreUsedAndReported() throws {
        let out = try makeTempDirectory()
        defer { try? FileManager.default.removeItem(at: out) }
        let data = out.appendingPathComponent("data")
        try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
        let fixture = packageRoot().appendingPathComponent("Tests/Fixtures/nlb_maze_short_trials.nwb")
        try FileManager.default.copyItem(at: fixture, to: data.appendingPathComponent(fixture.lastPathComponent))
        let cfg = out.appendingPathComponent("tiny.yaml")
        try tinyConfigYAML.write(to: cfg, atomically: true, encoding: .utf8)
        let run = out.appendingPathComponent("run")
        let t = try CLI.run([
            "train", "--config", cfg.path, "--data", data.path, "--out", run.path, "--steps", "2", "--device", "cpu",
        ])
        #expect(t.status == 0, "train failed: \(t.stderr)")
        #expect(
            t.stderr.contains("data: train: 19 interval(s)")
                && t.stderr.contains("in windows around them: short_intervals: around"),
            "\(t.stderr)")
        #expect(t.stderr.contains("data: valid: "), "\(t.stderr)")
        let summary =
            try JSONSerialization.jsonObject(with: Data(contentsOf: run.appendingPathComponent("summary.json")))
            as! [String: Any]
        #expect((summary["val_scored_samples"] as? [String: Int])?.values.allSatisfy { $0 > 0 } == true)

        let r = try RecordingReader.read(fixture)
        let mask = try #require(r.evalIntervals)
        let expected = r.behaviourTimes.filter { t in mask.contains(t) && r.testDomain.contains(t) }.count
        let e = try CLI.run(["eval", "--checkpoint", run.path, "--data", data.path, "--split", "test", "--json"])
        #expect(e.status == 0, "eval failed: \(e.stderr)")
        #expect(e.stderr.contains("data: test: 6 interval(s)"), "\(e.stderr)")
        let json = try JSONSerialization.jsonObject(with: Data(e.stdout.utf8)) as! [String: Any]
        #expect((json["scored_samples"] as? [String: Int])?[r.sessionID] == expected, "\(e.stdout)")
    }

    /// `short_intervals: skip` (torch_brain's samplers): training refuses short validation trials
    /// before it starts; a run's rule is in its checkpoint and `poyo eval` uses it unless a
    /// `--config` names another.
    @Test func shortIntervalsSkipIsRecordedAndRefusesShortEvaluationTrials() throws {
        let out = try makeTempDirectory()
        defer { try? FileManager.default.removeItem(at: out) }
        let fixture = packageRoot().appendingPathComponent("Tests/Fixtures/nlb_maze_short_trials.nwb")
        let r = try RecordingReader.read(fixture)
        func config(_ name: String, _ extra: String, entry: String = "") throws -> String {
            let url = out.appendingPathComponent(name)
            try (tinyConfigYAML + "\n" + extra + "dataset:\n  - path: \(fixture.path)\n" + entry)
                .write(to: url, atomically: true, encoding: .utf8)
            return url.path
        }
        func interval(_ iv: Interval) -> String { String(format: "[%.2f, %.2f) %.3f s", iv.start, iv.end, iv.length) }

        // The NLB split's validation trials include some shorter than the window.
        let shortValid = r.validDomain.filter { $0.length < 1 }
        #expect(!shortValid.isEmpty)
        let refused = try CLI.run([
            "train", "--config", try config("skip.yaml", "short_intervals: skip\n"), "--out",
            out.appendingPathComponent("refused").path, "--steps", "2", "--device", "cpu",
        ])
        #expect(refused.status == 1, "\(refused.stderr)")
        #expect(refused.stderr.contains("error: \(r.sessionID): \(shortValid.count) valid intervals shorter than"))
        for iv in shortValid { #expect(refused.stderr.contains(interval(iv)), "\(refused.stderr)") }
        #expect(!refused.stderr.contains("step 1/2"))

        // Time blocks have no short interval: the run trains under skip and records the rule.
        let run = out.appendingPathComponent("run")
        let timeSplit = try config(
            "time.yaml", "short_intervals: skip\n", entry: "    split: {rule: time, ratios: [0.7, 0.1, 0.2]}\n")
        let t = try CLI.run(["train", "--config", timeSplit, "--out", run.path, "--steps", "2", "--device", "cpu"])
        #expect(t.status == 0, "train failed: \(t.stderr)")
        let saved = try String(contentsOf: run.appendingPathComponent("config.yaml"), encoding: .utf8)
        #expect(saved.contains("\nshort_intervals: skip\n"), "\(saved)")

        // Scored on the NLB split's test trials: the checkpoint's skip refuses the short ones...
        let shortTest = r.testDomain.filter { $0.length < 1 }
        #expect(!shortTest.isEmpty)
        let nlb = try config("nlb.yaml", "")
        let e = try CLI.run(["eval", "--checkpoint", run.path, "--config", nlb, "--split", "test", "--device", "cpu"])
        #expect(e.status == 1, "\(e.stderr)")
        #expect(e.stderr.contains("\(shortTest.count) test intervals shorter than the 1 s window"), "\(e.stderr)")
        for iv in shortTest { #expect(e.stderr.contains(interval(iv)), "\(e.stderr)") }
        // ...and a config that names `around` scores them.
        let around = try config("around.yaml", "short_intervals: around\n")
        let a = try CLI.run([
            "eval", "--checkpoint", run.path, "--config", around, "--split", "test", "--device", "cpu",
        ])
        #expect(a.status == 0, "\(a.stderr)")
        #expect(a.stderr.contains("in windows around them: short_intervals: around"), "\(a.stderr)")
    }

    /// A run config's `dataset:` list: two NLB NWB fixtures and one brainsets fixture, one model.
    @Test func trainAcrossNWBAndBrainsetsFromConfig() throws {
        let out = try makeTempDirectory()
        defer { try? FileManager.default.removeItem(at: out) }
        let cfg = packageRoot().appendingPathComponent("Tests/Fixtures/three_sessions.yaml")
        let t = try CLI.run(["train", "--config", cfg.path, "--steps", "3", "--device", "cpu", "--out", out.path])
        #expect(t.status == 0, "\(t.stderr)")
        for s in ["nlb_maze_jenkins", "nlb_maze_nitschke", "c_20131003_center_out_reaching"] {
            #expect(t.stdout.contains(s), "no R² for \(s):\n\(t.stdout)")
        }
        let summary =
            try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("summary.json")))
            as? [String: Any]
        #expect((summary?["val_r2"] as? [String: Double])?.count == 3)
    }

    @Test func missingDataFolderIsAOneLineError() throws {
        let r = try CLI.run(["train", "--data", "/nonexistent/poyo-data", "--steps", "1", "--device", "cpu"])
        #expect(r.status != 0)
        #expect(r.stderr.contains("/nonexistent/poyo-data"), "\(r.stderr)")
        #expect(
            r.stderr.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "\n").last!.hasPrefix("error:"))
    }

    /// Issue 13: on a machine without an NVIDIA driver, `--device cuda` is one line naming libcuda,
    /// exit 1, before any data is read or written. (Where a driver exists the test has nothing to show.)
    @Test(.enabled(if: (try? CUDADevice.availableDevices()) == nil))
    func cudaWithoutADriverIsOneLine() throws {
        let out = try makeTempDirectory()
        defer { try? FileManager.default.removeItem(at: out) }
        let run = out.appendingPathComponent("run")
        let r = try CLI.run(["train", "--device", "cuda", "--steps", "1", "--out", run.path])
        #expect(r.status == 1, "exit \(r.status)")
        let lines = r.stderr.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "\n")
        #expect(lines.count == 1 && lines[0].hasPrefix("error:") && lines[0].contains("libcuda"), "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: run.path), "a run folder was made for a device that is absent")
    }

    /// `poyo devices` with a CUDA driver: the device, then NVRTC and cuBLAS, each found or why not
    /// (the stand-in driver of Tests/Fixtures/fake_cuda.c plays the GPU machine).
    @Test(.enabled(if: FakeCUDA.library != nil))
    func devicesListsCUDAAndItsLibraries() throws {
        let all = try CLI.run(["devices"], environment: FakeCUDA.environment)
        #expect(all.status == 0, "\(all.stderr)")
        #expect(all.stdout.contains("cuda:0     Fake GPU | sm_90 | 4 SMs | 1.0 GiB | CUDA 13.0"), "\(all.stdout)")
        #expect(all.stdout.contains("nvrtc      NVRTC 99.1 ("), "\(all.stdout)")
        let json = try CLI.run(["devices", "--json"], environment: FakeCUDA.environment)
        let obj = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
        #expect((obj?["cuda"] as? [[String: Any]])?.first?["architecture"] as? String == "sm_90")
        #expect((obj?["cuda_cublas"] as? String) == FakeCUDA.library)

        // A driver without NVRTC: the device is listed, and what is missing is named.
        let driverOnly = try CLI.run(
            ["devices"], environment: ["POYO_LIBCUDA": FakeCUDA.library!, "POYO_LIBNVRTC": "/nonexistent/libnvrtc.so"])
        #expect(driverOnly.stdout.contains("nvrtc      unavailable: libnvrtc not found"), "\(driverOnly.stdout)")
    }

    @Test func fileThatIsNotHDF5IsNamed() throws {
        let dir = try makeTempDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try "just text".write(to: dir.appendingPathComponent("broken.h5"), atomically: true, encoding: .utf8)
        let r = try CLI.run(["train", "--data", dir.path, "--steps", "1", "--device", "cpu"])
        #expect(r.status != 0)
        let err = r.stderr.split(separator: "\n").last.map(String.init) ?? ""
        #expect(err.contains("broken.h5") && err.lowercased().contains("hdf5"), "\(r.stderr)")
    }

    @Test func hdf5WithoutSpikesIsNamed() throws {
        let dir = try makeTempDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        do {  // the file closes when the handle goes out of scope
            let f = try HDF5File(creatingAt: dir.appendingPathComponent("nospikes.h5").path)
            try f.createGroup("/units")
            try f.write(strings: ["a"], to: "/units/id")
        }
        let t = try CLI.run(["train", "--data", dir.path, "--steps", "1", "--device", "cpu"])
        #expect(t.status != 0)
        let err = t.stderr.split(separator: "\n").last.map(String.init) ?? ""
        #expect(err.contains("nospikes.h5") && err.contains("spikes"), "\(t.stderr)")
    }

    @Test func missingCheckpointIsNamed() throws {
        let r = try CLI.run([
            "eval", "--checkpoint", "/nonexistent/ck.safetensors", "--data", "/tmp", "--device", "cpu",
        ])
        #expect(r.status != 0)
        #expect(r.stderr.contains("/nonexistent/ck.safetensors"), "\(r.stderr)")
    }

    /// A device name the parser does not know is a usage error (64) before any work, on every command.
    @Test func unknownDeviceIsAUsageError() throws {
        for command in [["train", "--steps", "1"], ["eval", "--checkpoint", "x", "--data", "y"]] {
            let r = try CLI.run(command + ["--device", "tpu"])
            #expect(r.status == 64, "\(command[0]): \(r.status) \(r.stderr)")
            #expect(r.stderr.contains("tpu") && r.stderr.contains("--device"), "\(r.stderr)")
        }
    }

    @Test func badOptionValuesAreRejected() throws {
        let r = try CLI.run(["train", "--steps", "0"])
        #expect(r.status == 64 && r.stderr.contains("--steps"))
        // A negative number is a value to check, not a missing one.
        let negative = try CLI.run(["train", "--steps", "-5"])
        #expect(negative.status == 64 && negative.stderr.contains("--steps must be positive"), "\(negative.stderr)")
        let e = try CLI.run(["eval", "--checkpoint", "x", "--data", "y", "--split", "nope"])
        #expect(e.status == 64 && e.stderr.contains("--split"))
        let m = try CLI.run(["finetune", "--checkpoint", "x", "--data", "y", "--mode", "partial"])
        #expect(m.status == 64 && m.stderr.contains("--mode"), "\(m.stderr)")
    }

    @Test func devicesListsTheCPUAndOpenCL() throws {
        let r = try CLI.run(["devices"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("cpu") && r.stdout.contains("opencl:0"), "\(r.stdout)")
        let j = try CLI.run(["devices", "--json"])
        let obj = try JSONSerialization.jsonObject(with: Data(j.stdout.utf8)) as? [String: Any]
        #expect((obj?["opencl"] as? [Any])?.isEmpty == false, "\(j.stdout)")
    }

    /// The same tiny run on both backends reaches the same validation R² (PoCL stands in for a GPU).
    @Test func trainOnOpenCLMatchesCPU() throws {
        let data = try smallDataset()
        let out = try makeTempDirectory()
        defer {
            try? FileManager.default.removeItem(at: data)
            try? FileManager.default.removeItem(at: out)
        }
        let cfg = out.appendingPathComponent("tiny.yaml")
        try tinyConfigYAML.write(to: cfg, atomically: true, encoding: .utf8)
        var r2: [String: Double] = [:]
        for device in ["cpu", "opencl"] {
            let run = out.appendingPathComponent(device)
            let t = try CLI.run([
                "train", "--config", cfg.path, "--data", data.path, "--out", run.path,
                "--steps", "6", "--seed", "3", "--device", device,
            ])
            #expect(t.status == 0, "train on \(device) failed: \(t.stderr)")
            let summary =
                try JSONSerialization.jsonObject(with: Data(contentsOf: run.appendingPathComponent("summary.json")))
                as? [String: Any]
            r2[device] = summary?["val_r2_mean"] as? Double
        }
        let a = try #require(r2["cpu"])
        let b = try #require(r2["opencl"])
        #expect(abs(a - b) <= 0.02, "validation R² cpu \(a) vs opencl \(b)")
    }

    @Test func unknownOpenCLIndexIsAnError() throws {
        let r = try CLI.run(["train", "--device", "opencl:99", "--steps", "1"])
        #expect(r.status != 0)
        #expect(r.stderr.contains("99"), "\(r.stderr)")
    }

    @Test func helpListsTheCommands() throws {
        let r = try CLI.run(["--help"])
        #expect(r.status == 0)
        for c in ["train", "eval", "synth", "devices"] { #expect(r.stdout.contains(c)) }
        let t = try CLI.run(["train", "--help"])
        for o in ["--config", "--data", "--out", "--steps", "--batch-size", "--lr", "--device", "--seed"] {
            #expect(t.stdout.contains(o), "train --help lacks \(o)")
        }
    }
}
