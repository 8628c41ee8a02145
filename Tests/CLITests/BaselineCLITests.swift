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

    @Test func badBaselineOptions() throws {
        let ridge = try CLI.run(["baseline", "--data", "/tmp", "--ridge", "-1"])
        #expect(ridge.status == 64 && ridge.stderr.contains("--ridge"), "\(ridge.stderr)")
        let missing = try CLI.run(["baseline", "--data", "/nonexistent-folder"])
        #expect(missing.status == 1 && missing.stderr.contains("/nonexistent-folder"), "\(missing.stderr)")
    }
}
