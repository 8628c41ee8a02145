import Foundation
import TestSupport
import Testing

/// `poyo stream` (docs/streaming.md): replay and standard input, the latency summary, bad input.
@Suite struct StreamCLITests {
    @Test func streamsAReplayAndStandardInput() throws {
        let ws = try makeTempDirectory("stream")
        defer { try? FileManager.default.removeItem(at: ws) }
        let data = ws.appendingPathComponent("data")
        #expect(try CLI.run(["synth", "--out", data.path, "--sessions", "2", "--seed", "3"]).status == 0)
        let cfg = ws.appendingPathComponent("tiny.yaml")
        try tinyConfigYAML.write(to: cfg, atomically: true, encoding: .utf8)
        let run = ws.appendingPathComponent("run")
        let trained = try CLI.run([
            "train", "--config", cfg.path, "--data", data.path, "--out", run.path, "--device", "cpu", "--steps", "3",
        ])
        #expect(trained.status == 0, "\(trained.stderr)")
        let file = data.appendingPathComponent("synth_s00_center_out.h5").path
        let replay = try CLI.run([
            "stream", "--checkpoint", run.path, "--replay", file, "--every", "0.05", "--deadline", "1", "--device",
            "cpu",
        ])
        #expect(replay.status == 0, "\(replay.stderr)")
        let lines = replay.stdout.split(separator: "\n")
        #expect(lines.count > 100)
        // `t,v0,v1` on a 0.05 s clock.
        let first = lines[0].split(separator: ",").compactMap { Double($0) }
        let second = lines[1].split(separator: ",").compactMap { Double($0) }
        #expect(first.count == 3 && second.count == 3 && abs(second[0] - first[0] - 0.05) < 1e-9, "\(lines[0...1])")
        #expect(
            replay.stderr.contains("updates; latency p50") && replay.stderr.contains("over the 1000.000 ms deadline"))

        let causal = try CLI.run(["eval", "--checkpoint", run.path, "--data", data.path, "--causal", "--device", "cpu"])
        #expect(causal.status == 0, "\(causal.stderr)")
        #expect(causal.stdout.contains("stitched windows and causal") && causal.stdout.contains("mean R² stitched"))

        let session = ["--checkpoint", run.path, "--session", "synth_s00_center_out", "--device", "cpu"]
        let text = try CLI.run(["stream"] + session, input: Data("1.00 0\n1.01 3 # a comment\n\n1.305 2\n".utf8))
        #expect(text.status == 0, "\(text.stderr)")
        #expect(text.stdout.split(separator: "\n").count == 16, "\(text.stdout)")  // ticks 1.00, 1.02 … 1.30
        let late = try CLI.run(["stream"] + session, input: Data("1.0 0\n0.5 3\n".utf8))
        #expect(late.status == 1 && late.stderr.contains("stdin line 2") && late.stderr.contains("out of order"))
        let unknown = try CLI.run(["stream"] + session, input: Data("1.0 nope\n".utf8))
        #expect(unknown.status == 1 && unknown.stderr.contains("unit 'nope' is not one of the session's units"))
        var records = Data()
        for (time, unit) in [(1.0, Int32(0)), (1.105, 1)] {
            withUnsafeBytes(of: time.bitPattern.littleEndian) { records.append(contentsOf: $0) }
            withUnsafeBytes(of: unit.littleEndian) { records.append(contentsOf: $0) }
        }
        let binary = try CLI.run(["stream", "--binary"] + session, input: records)
        #expect(
            binary.status == 0 && binary.stdout.split(separator: "\n").count == 6, "\(binary.stdout)\(binary.stderr)")
        let cut = try CLI.run(["stream", "--binary"] + session, input: records.prefix(20))
        #expect(cut.status == 1 && cut.stderr.contains("record 1 is cut short"), "\(cut.stderr)")
    }
}
