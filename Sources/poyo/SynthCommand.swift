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

    func validate() throws {
        guard sessions >= 1 && sessions <= 1000 else { throw ValidationError("--sessions must be between 1 and 1000") }
    }

    func run() throws {
        try runReportingErrors {
            let files = try SyntheticDataset.write(to: URL(fileURLWithPath: out), sessions: sessions, seed: seed)
            for f in files { print(f.path) }
        }
    }
}
