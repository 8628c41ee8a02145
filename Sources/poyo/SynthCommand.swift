import ArgumentParser
import Foundation
import POYOData

struct Synth: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            "Write the synthetic multi-session centre-out reaching dataset (brainsets HDF5, one file per session).",
        discussion: "The generative model is described in docs/synthetic.md. The same seed gives the same files.")

    @Option(help: "Output folder.") var out: String
    @Option(help: "Training sessions (one more, held out as a new animal, is added).") var sessions = SyntheticDataset
        .defaultSessions
    @Option(help: "Random seed.") var seed: UInt64 = 42
    @Option(help: "Minutes per session (default: 150 trials, about 6.3 minutes).") var minutes: Double?
    @Flag(
        help: "Vary the sessions: each draws its own unit count, rates, tuning, lead time, noise and targets.")
    var varied = false

    func validate() throws {
        guard sessions >= 1 && sessions <= 1000 else { throw ValidationError("--sessions must be between 1 and 1000") }
        if let minutes, !(minutes >= 0.5 && minutes <= 600) {
            throw ValidationError("--minutes must be between 0.5 and 600")
        }
    }

    func run() throws {
        try runReportingErrors {
            var config = SyntheticConfig()
            config.minutes = minutes
            config.varied = varied
            let started = Date()
            let files = try SyntheticDataset.write(
                to: URL(fileURLWithPath: out), sessions: sessions, seed: seed, config: config)
            for f in files { print(f.path) }
            let bytes = files.reduce(0) { total, f in
                let size = (try? FileManager.default.attributesOfItem(atPath: f.path))?[.size] as? Int
                return total + (size ?? 0)
            }
            FileHandle.standardError.write(
                String(
                    format: "synth: %d sessions (%.1f MB) in %.1f s\n", files.count, Double(bytes) / 1e6,
                    Date().timeIntervalSince(started)
                ).data(using: .utf8)!)
        }
    }
}
