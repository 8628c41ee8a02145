import Foundation
import TestSupport
import Testing

/// Sizes that grew to gigabytes with no message (until the kernel killed the process) are refused
/// before anything is allocated, naming the key that makes them large.
@Suite struct SizeLimitTests {
    let runs = ResumeTests()

    func train(_ ws: URL, yaml: String, _ extra: [String] = [], env: [String: String] = [:]) throws -> CLIResult {
        let cfg = ws.appendingPathComponent("size-\(UUID().uuidString).yaml")
        try yaml.write(to: cfg, atomically: true, encoding: .utf8)
        return try CLI.run(
            [
                "train", "--config", cfg.path, "--data", ws.appendingPathComponent("data").path, "--out",
                ws.appendingPathComponent("out-\(UUID().uuidString)").path, "--device", "cpu", "--steps", "2",
            ] + extra, environment: env)
    }

    @Test func hugeModelsBatchesAndWienerDesignsAreRefused() throws {
        let ws = try runs.workspace()
        defer { try? FileManager.default.removeItem(at: ws) }
        let deep = try train(ws, yaml: tinyConfigYAML.replacingOccurrences(of: "depth: 1", with: "depth: 100000"))
        #expect(deep.status == 1 && deep.stderr.contains("depth 100000"), "\(deep.stderr)")
        let latents = try train(
            ws,
            yaml: tinyConfigYAML.replacingOccurrences(
                of: "num_latents_per_step: 4", with: "num_latents_per_step: 10000000"))
        #expect(latents.status == 1 && latents.stderr.contains("would need about"), "\(latents.stderr)")
        let absurd = try train(
            ws,
            yaml: tinyConfigYAML.replacingOccurrences(
                of: "num_latents_per_step: 4", with: "num_latents_per_step: 100000000"))
        #expect(
            absurd.status == 1 && absurd.stderr.contains("num_latents_per_step 100000000 is above 2^24"),
            "\(absurd.stderr)")
        let batch = try train(ws, yaml: tinyConfigYAML, ["--batch-size", "1000000"])
        #expect(batch.status == 1 && batch.stderr.contains("batch_size 1000000"), "\(batch.stderr)")
        let capped = try train(ws, yaml: tinyConfigYAML, env: ["POYO_MAX_BYTES": "100000"])
        #expect(capped.status == 1 && capped.stderr.contains("POYO_MAX_BYTES"), "\(capped.stderr)")
        let lags = try CLI.run(["baseline", "--data", ws.appendingPathComponent("data").path, "--lags", "5000"])
        #expect(lags.status == 1 && lags.stderr.contains("5000 history bins"), "\(lags.stderr)")
        // A bin wider than 1 s would count every spike so far and score R² ≈ 0 (reliability probe D10).
        let bin = try CLI.run(["baseline", "--data", ws.appendingPathComponent("data").path, "--bin", "1e9"])
        #expect(bin.status == 64 && bin.stderr.contains("--bin must be above 0 and at most 1.0 s"), "\(bin.stderr)")
        // The same tiny run within the limits trains.
        #expect(try train(ws, yaml: tinyConfigYAML).status == 0)
    }
}
