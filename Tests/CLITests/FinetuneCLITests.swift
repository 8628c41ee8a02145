import Foundation
import POYO
import TestSupport
import Testing

/// `poyo finetune` end to end: pretrain on brainsets files, adapt to an NWB recording.
@Suite(.serialized) struct FinetuneCLITests {
    @Test func pretrainOnBrainsetsThenFinetuneOnNWB() throws {
        let dir = try makeTempDirectory("finetune-cli")
        defer { try? FileManager.default.removeItem(at: dir) }
        let fixtures = packageRoot().appendingPathComponent("Tests/Fixtures").path
        let pre = dir.appendingPathComponent("pre.yaml")
        try
            (tinyConfigYAML + """

                dataset:
                  - path: \(fixtures)/perich_c_center_out.h5
                    behaviour: cursor.vel
                    normalize_std: 7.0
                    eval_interval: all
                    split: file
                  - path: \(fixtures)/nlb_maze_hand_regular.h5
                """).write(to: pre, atomically: true, encoding: .utf8)
        let p = try CLI.run([
            "train", "--config", pre.path, "--steps", "3", "--device", "cpu", "--out",
            dir.appendingPathComponent("pre").path,
        ])
        #expect(p.status == 0, "\(p.stderr)")
        let checkpoint = dir.appendingPathComponent("pre/checkpoint.safetensors").path

        let ft = dir.appendingPathComponent("ft.yaml")
        try """
        batch_size: 4
        eval_batch_size: 16
        dataset:
          - path: \(fixtures)/nlb_maze_jenkins.nwb
            behaviour: hand_vel
            normalize_std: 100.0
            split: nlb
        """.write(to: ft, atomically: true, encoding: .utf8)
        let out = dir.appendingPathComponent("ft")
        let f = try CLI.run([
            "finetune", "--checkpoint", checkpoint, "--config", ft.path, "--steps", "3", "--lr",
            "0.05", "--device", "cpu", "--out", out.path,
        ])
        #expect(f.status == 0, "\(f.stderr)")
        #expect(f.stderr.contains("1 new session(s)") && f.stderr.contains("still decodes the pretraining sessions"))
        // The new session's scale (std 100) is one a pretrained session has: nothing to warn about.
        #expect(!f.stderr.contains("warning: finetune:"), "\(f.stderr)")
        #expect(f.stdout.contains("nlb_maze_jenkins"), "\(f.stdout)")
        let yaml = try String(contentsOf: out.appendingPathComponent("config.yaml"), encoding: .utf8)
        #expect(yaml.contains("finetune:") && yaml.contains("mode: unit-id") && yaml.contains("pretrained_units:"))
        // The fine-tuned checkpoint carries every session's settings: the pretrained ones from the
        // pretrained checkpoint (config std 20; the nlb_maze preset's 100), the new one from its config.
        let settings = try #require(try Checkpoint.dataSettings(of: out.path))
        #expect(settings["c_20131003_center_out_reaching"]?.normalizeStd == [7, 7])
        #expect(settings["c_20131003_center_out_reaching"]?.evalInterval == "all")
        #expect(settings["c_20131003_center_out_reaching"]?.split == .file)
        #expect(settings["jenkins_maze_train"]?.preset == "nlb_maze")
        #expect(settings["jenkins_maze_train"]?.normalizeStd == [100, 100])
        #expect(settings["nlb_maze_jenkins"]?.normalizeStd == [100, 100])
        #expect(settings["nlb_maze_jenkins"]?.split == .nlb)
        #expect(settings.count == 3)
        // `poyo baseline --checkpoint` reads each session as the checkpoint says: the figures of the
        // pretraining config itself (all samples scored), not those of the inferred preset (reach only).
        let folder = dir.appendingPathComponent("pretraining-files")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        for name in ["perich_c_center_out.h5", "nlb_maze_hand_regular.h5"] {
            try FileManager.default.copyItem(
                atPath: "\(fixtures)/\(name)", toPath: folder.appendingPathComponent(name).path)
        }
        func baselineR2(_ args: [String]) throws -> [String: Double] {
            let b = try CLI.run(["baseline"] + args + ["--split", "valid", "--ridge", "0.01", "--json"])
            #expect(b.status == 0, "\(b.stderr)")
            let json = try JSONSerialization.jsonObject(with: Data(b.stdout.utf8)) as? [String: Any]
            return json?["r2"] as? [String: Double] ?? [:]
        }
        let withConfig = try baselineR2(["--config", pre.path])
        let withCheckpoint = try baselineR2(["--data", folder.path, "--checkpoint", out.path])
        let inferred = try baselineR2(["--data", folder.path])
        #expect(withConfig.count == 2 && withCheckpoint == withConfig, "\(withCheckpoint) vs \(withConfig)")
        let perich = "c_20131003_center_out_reaching"
        #expect(inferred[perich] != withConfig[perich], "reach-only scoring should differ from all samples")
        // The run folders stand for their checkpoints: fine-tuning a fine-tuned model again on the
        // same session finds nothing new to learn; a model config that is not the checkpoint's, or
        // more trials than the session has, are one-line errors.
        let again = try CLI.run([
            "finetune", "--checkpoint", out.path, "--config", ft.path, "--steps", "2", "--device", "cpu",
            "--out", dir.appendingPathComponent("again").path,
        ])
        #expect(again.status == 1 && again.stderr.contains("no new session"), "\(again.stderr)")
        let other = dir.appendingPathComponent("other.yaml")
        try (try String(contentsOf: ft, encoding: .utf8) + "\nmodel:\n  dim: 48\n").write(
            to: other, atomically: true, encoding: .utf8)
        let mismatch = try CLI.run([
            "finetune", "--checkpoint", checkpoint, "--config", other.path, "--device", "cpu",
            "--out", dir.appendingPathComponent("mismatch").path,
        ])
        #expect(mismatch.status == 1 && mismatch.stderr.contains("does not match"), "\(mismatch.stderr)")
        #expect(mismatch.stderr.split(separator: "\n").filter { $0.hasPrefix("error:") }.count == 1)
        let tooMany = try CLI.run([
            "finetune", "--checkpoint", dir.appendingPathComponent("pre").path, "--config", ft.path, "--device", "cpu",
            "--train-trials", "100000", "--out", dir.appendingPathComponent("many").path,
        ])
        #expect(tooMany.status == 1 && tooMany.stderr.contains("training trials"), "\(tooMany.stderr)")
        // A fine-tuning run folder resumes like any other: lengthened by two steps.
        let r = try CLI.run(["train", "--resume", out.path, "--steps", "5", "--device", "cpu"])
        #expect(r.status == 0, "\(r.stderr)")
        let rows = try String(contentsOf: out.appendingPathComponent("metrics.csv"), encoding: .utf8)
            .split(separator: "\n").dropFirst().map { $0.prefix { $0 != "," } }
        #expect(rows == ["1", "2", "3", "4", "5"])
    }

    /// A temporaldata export with a Perich-style session id but no `movement_phases` (issue 19):
    /// inspect, train, finetune and eval all read it, and the log says which preset was considered
    /// and why it was not applied.
    @Test func aPresetTheFileCannotTakeNeverBlocksIt() throws {
        let dir = try makeTempDirectory("finetune-export")
        defer { try? FileManager.default.removeItem(at: dir) }
        let fixtures = packageRoot().appendingPathComponent("Tests/Fixtures").path
        let data = dir.appendingPathComponent("export")
        try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
        let file = data.appendingPathComponent("temporaldata_no_phases.h5").path
        try FileManager.default.copyItem(atPath: "\(fixtures)/temporaldata_no_phases.h5", toPath: file)

        let inspect = try CLI.run(["inspect", file])
        #expect(inspect.status == 0, "\(inspect.stderr)")
        for fact in ["units       16", "trials      24", "behaviour   cursor", "train 4 interval(s)", "problems"] {
            #expect(inspect.stdout.contains(fact), "\(fact): \(inspect.stdout)")
        }
        #expect(inspect.stdout.contains("preset perich_co considered"), "\(inspect.stdout)")

        let train = try CLI.run([
            "train", "--data", data.path, "--steps", "2", "--batch-size", "4", "--device", "cpu", "--out",
            dir.appendingPathComponent("scratch").path,
        ])
        #expect(train.status == 0, "\(train.stderr)")
        #expect(train.stderr.contains("perich_co considered, not applied"), "\(train.stderr)")

        let pre = dir.appendingPathComponent("pre.yaml")
        try (tinyConfigYAML + "\ndataset:\n  - path: \(fixtures)/perich_c_center_out.h5\n").write(
            to: pre, atomically: true, encoding: .utf8)
        let p = try CLI.run([
            "train", "--config", pre.path, "--steps", "2", "--device", "cpu", "--out",
            dir.appendingPathComponent("pre").path,
        ])
        #expect(p.status == 0, "\(p.stderr)")
        let out = dir.appendingPathComponent("ft")
        let f = try CLI.run([
            "finetune", "--checkpoint", dir.appendingPathComponent("pre").path, "--data", data.path, "--steps", "2",
            "--batch-size", "4", "--device", "cpu", "--out", out.path,
        ])
        #expect(f.status == 0, "\(f.stderr)")
        #expect(f.stderr.contains("perich_co considered, not applied"), "\(f.stderr)")
        // Its targets are on the data's own scale, the pretrained session's on perich_co's std 20.
        #expect(
            f.stderr.contains("warning: finetune: t_20130819_center_out_reaching's targets are normalised")
                && f.stderr.contains("(preset perich_co)"), "\(f.stderr)")
        #expect(f.stdout.contains("t_20130819_center_out_reaching"), "\(f.stdout)")
        let e = try CLI.run(["eval", "--checkpoint", out.path, "--data", data.path, "--device", "cpu"])
        #expect(e.status == 0 && e.stdout.contains("t_20130819_center_out_reaching"), "\(e.stderr)")
    }

    @Test func badFinetuneInputsAreOneLineErrors() throws {
        let dir = try makeTempDirectory("finetune-bad")
        defer { try? FileManager.default.removeItem(at: dir) }
        let missing = try CLI.run([
            "finetune", "--checkpoint", dir.appendingPathComponent("none.safetensors").path,
            "--data", dir.path, "--device", "cpu",
        ])
        #expect(missing.status == 1 && missing.stderr.contains("none.safetensors"), "\(missing.stderr)")
        let mode = try CLI.run(["finetune", "--checkpoint", "x", "--data", dir.path, "--mode", "partial"])
        #expect(mode.status == 64 && mode.stderr.contains("--mode"), "\(mode.stderr)")
        let fraction = try CLI.run(["finetune", "--checkpoint", "x", "--data", dir.path, "--train-fraction", "1.5"])
        #expect(fraction.status == 64 && fraction.stderr.contains("--train-fraction"), "\(fraction.stderr)")
    }
}
