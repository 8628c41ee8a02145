import Compute
import Foundation
import POYO
import POYOData
import TestSupport
import Testing

/// `poyo eval --predictions` and `--plot` on a tiny trained model.
@Suite(.serialized) struct PredictionsCLITests {
    @Test func evalWritesPredictionsAndAPlot() throws {
        let dir = try makeTempDirectory("predictions")
        defer { try? FileManager.default.removeItem(at: dir) }
        var c = SyntheticConfig()
        c.trialsPerSession = 20
        let data = dir.appendingPathComponent("data")
        try SyntheticDataset.write(to: data, sessions: 2, heldOut: 0, seed: 11, config: c)
        let cfg = dir.appendingPathComponent("tiny.yaml")
        try tinyConfigYAML.write(to: cfg, atomically: true, encoding: .utf8)
        let run = dir.appendingPathComponent("run")
        let t = try CLI.run([
            "train", "--config", cfg.path, "--data", data.path, "--out", run.path, "--steps", "3", "--device", "cpu",
            "--train-trials", "4", "--baseline",
        ])
        #expect(t.status == 0, "\(t.stderr)")
        #expect(t.stderr.contains("trains on 4 of"), "\(t.stderr)")
        #expect(t.stdout.contains("Wiener filter (causal, bin 0.02 s, loss weights):"), "\(t.stdout)")
        #expect(t.stdout.contains("fit on 4 of "), "the baseline must fit on the run's few-shot subset: \(t.stdout)")
        let yaml = try String(contentsOf: run.appendingPathComponent("config.yaml"), encoding: .utf8)
        #expect(yaml.contains("train_trials: 4"))
        let csv = dir.appendingPathComponent("p.csv")
        let svg = dir.appendingPathComponent("p.svg")
        let e = try CLI.run([
            "eval", "--checkpoint", run.appendingPathComponent("checkpoint.safetensors").path, "--data", data.path,
            "--json", "--device", "cpu", "--predictions", csv.path, "--plot", svg.path, "--baseline",
        ])
        #expect(e.status == 0, "\(e.stderr)")
        let json = try JSONSerialization.jsonObject(with: Data(e.stdout.utf8)) as? [String: Any]
        let scored = json?["scored_samples"] as? [String: Int] ?? [:]
        #expect(scored.count == 2 && scored.values.allSatisfy { $0 > 0 })
        let wiener = json?["baseline_r2"] as? [String: Double] ?? [:]
        #expect(Set(wiener.keys) == Set(scored.keys) && wiener.values.allSatisfy(\.isFinite), "\(e.stdout)")
        // eval --baseline fits on the subset the checkpoint trained on (drawn again from its run
        // config), chosen by cross-validation as at the end of training: the same figures.
        #expect(e.stderr.contains("fitted on the checkpoint's few-shot subset, 4 of"), "\(e.stderr)")
        let sessions = (json?["baseline"] as? [String: Any])?["sessions"] as? [String: [String: Any]] ?? [:]
        #expect(
            sessions.count == 2 && sessions.values.allSatisfy { ($0["fit"] as? String)?.hasPrefix("4 of ") == true })
        for (session, r2) in wiener {
            let trained = t.stdout.split(separator: "\n").first { $0.contains(session) && $0.contains("Wiener") }
            #expect(trained?.hasSuffix(String(format: "Wiener %.4f", r2)) == true, "\(session): \(t.stdout)")
        }
        // A checkpoint that does not say what it was trained on: --baseline refuses.
        let bare = dir.appendingPathComponent("bare")
        try FileManager.default.createDirectory(at: bare, withIntermediateDirectories: true)
        let (model, _) = try Checkpoint.load(run.path, device: CPUDevice())
        try Checkpoint.save(model, to: bare.appendingPathComponent("checkpoint.safetensors").path)
        let refused = try CLI.run([
            "eval", "--checkpoint", bare.path, "--data", data.path, "--device", "cpu", "--baseline",
        ])
        #expect(
            refused.status == 1 && refused.stderr.contains("cannot tell which training trials"), "\(refused.stderr)")
        let plain = try CLI.run(["eval", "--checkpoint", bare.path, "--data", data.path, "--device", "cpu"])
        #expect(plain.status == 0, "\(plain.stderr)")

        let rows = try String(contentsOf: csv, encoding: .utf8).split(separator: "\n")
        #expect(rows.first == "session,time,target_0,target_1,prediction_0,prediction_1,scored")
        let body = rows.dropFirst().map { $0.split(separator: ",", omittingEmptySubsequences: false) }
        #expect(body.allSatisfy { $0.count == 7 && Double($0[1]) != nil && Double($0[4]) != nil })
        // The scored rows per session are exactly the samples the R² was computed on.
        for (session, n) in scored {
            #expect(body.filter { $0[0] == session && $0[6] == "1" }.count == n, "\(session)")
        }
        let picture = try String(contentsOf: svg, encoding: .utf8)
        #expect(picture.hasPrefix("<svg") && picture.hasSuffix("</svg>\n"))
        for session in scored.keys { #expect(picture.contains(session)) }
        #expect(picture.contains("R² ") && picture.contains("<polyline"))
    }
}
