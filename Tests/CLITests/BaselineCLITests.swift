import Foundation
import TestSupport
import Testing

/// `poyo baseline` end to end on the fixtures.
@Suite struct BaselineCLITests {
    @Test func wienerFilterPerSessionOnTheFixtureConfig() throws {
        let cfg = packageRoot().appendingPathComponent("Tests/Fixtures/three_sessions.yaml")
        let r = try CLI.run(["baseline", "--config", cfg.path, "--split", "valid", "--ridge", "0.01", "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let json = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
        let r2 = json?["r2"] as? [String: Double] ?? [:]
        #expect(r2.count == 3, "\(r.stdout)")
        #expect(r2.values.allSatisfy { $0.isFinite })
        #expect((json?["training_samples"] as? [String: Int])?.values.allSatisfy { $0 > 0 } == true)
    }

    @Test func baselineSaysWhatItChoseAndWhere() throws {
        let dir = try makeTempDirectory("baseline-choices")
        defer { try? FileManager.default.removeItem(at: dir) }
        try FileManager.default.copyItem(
            at: packageRoot().appendingPathComponent("Tests/Fixtures/perich_c_center_out.h5"),
            to: dir.appendingPathComponent("perich_c_center_out.h5"))
        let session = "c_20131003_center_out_reaching"
        // Scoring test: chosen on valid.
        let test = try CLI.run(["baseline", "--data", dir.path])
        #expect(test.status == 0, "\(test.stderr)")
        #expect(test.stdout.contains("Wiener filter (causal, bin 0.02 s, loss weights) test R² per session"))
        let line = try #require(test.stdout.split(separator: "\n").first { $0.contains(session) }, "\(test.stdout)")
        for part in ["history ", " bins)", "λ ", "fit on train (", "chosen on valid"] {
            #expect(line.contains(part), "\(line) lacks \(part)")
        }
        #expect(!line.contains("horizon"))
        // Scoring valid, acausal: chosen by 5-fold cross-validation over the training trials.
        let valid = try CLI.run(["baseline", "--data", dir.path, "--split", "valid", "--acausal", "--json"])
        #expect(valid.status == 0, "\(valid.stderr)")
        #expect(valid.stderr.contains("Wiener filter (acausal, bin 0.02 s, loss weights) valid R² per session"))
        let json = try JSONSerialization.jsonObject(with: Data(valid.stdout.utf8)) as? [String: Any]
        let entry = try #require((json?["sessions"] as? [String: [String: Any]])?[session], "\(valid.stdout)")
        #expect((entry["selection"] as? String)?.hasPrefix("5-fold over ") == true, "\(entry)")
        #expect((entry["selection"] as? String)?.hasSuffix(" training trials") == true, "\(entry)")
        #expect(entry["fit"] as? String == "train")
        // The grids in bins of 0.02 s: 0.1 … 0.7 s of history, 0 … 0.5 s of horizon.
        #expect((entry["history_bins"] as? Int).map { [5, 10, 15, 25, 35].contains($0) } == true, "\(entry)")
        #expect((entry["horizon_bins"] as? Int).map { [0, 5, 10, 15, 25].contains($0) } == true, "\(entry)")
        let bins = Double(entry["history_bins"] as? Int ?? 0)
        #expect(abs((entry["history_s"] as? Double ?? 0) - bins * 0.02) < 1e-12)
        #expect(entry["ridge"] is Double && entry["selection_r2"] is Double)
        #expect(json?["causal"] as? Bool == false && json?["weights"] as? String == "loss")
        // A few-shot subset, history given: the subset and its trial count are named.
        let few = try CLI.run([
            "baseline", "--data", dir.path, "--train-trials", "3", "--history", "0.2", "--weights", "none", "--json",
        ])
        #expect(few.status == 0, "\(few.stderr)")
        let fewJSON = try JSONSerialization.jsonObject(with: Data(few.stdout.utf8)) as? [String: Any]
        let fewEntry = try #require((fewJSON?["sessions"] as? [String: [String: Any]])?[session], "\(few.stdout)")
        #expect((fewEntry["fit"] as? String)?.hasPrefix("3 of ") == true, "\(fewEntry)")
        #expect(fewEntry["history_bins"] as? Int == 10 && fewEntry["selection"] as? String == "valid")
        #expect(fewJSON?["weights"] as? String == "none")
    }

    @Test func badBaselineOptions() throws {
        let ridge = try CLI.run(["baseline", "--data", "/tmp", "--ridge", "-1"])
        #expect(ridge.status == 64 && ridge.stderr.contains("--ridge"), "\(ridge.stderr)")
        let weights = try CLI.run(["baseline", "--data", "/tmp", "--weights", "heavy"])
        #expect(weights.status == 64 && weights.stderr.contains("--weights"), "\(weights.stderr)")
        let horizon = try CLI.run(["baseline", "--data", "/tmp", "--horizon", "0.1"])
        #expect(horizon.status == 64 && horizon.stderr.contains("--acausal"), "\(horizon.stderr)")
        let history = try CLI.run(["baseline", "--data", "/tmp", "--history", "0.001"])
        #expect(history.status == 64 && history.stderr.contains("--history"), "\(history.stderr)")
        let missing = try CLI.run(["baseline", "--data", "/nonexistent-folder"])
        #expect(missing.status == 1 && missing.stderr.contains("/nonexistent-folder"), "\(missing.stderr)")
    }
}
