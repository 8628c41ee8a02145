import ArgumentParser
import Foundation
import POYO
import POYOData

struct Baseline: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Score a ridge Wiener filter (binned spike counts with lag history) per session: the floor to beat.",
        discussion: """
            Fitted on each session's training split (or a few-shot subset of its training trials), λ chosen on \
            the validation split unless given, scored on the same windows, eval mask and split as poyo eval. \
            The solve is LAPACK's (OpenBLAS).
            """)

    @Option(help: "Folder of recordings (.h5 brainsets, .nwb).") var data: String?
    @Option(help: "YAML config with a dataset list (instead of --data).") var config: String?
    @Option(
        help: "A checkpoint or run folder: read each session it knows with the data settings it was trained with.")
    var checkpoint: String?
    @Option(help: "Bin width in seconds.") var bin = 0.02
    @Option(help: "Bins of spike history per unit.") var lags = 7
    @Option(help: "auto (chosen on the validation split) or a relative ridge λ.") var ridge = "auto"
    @Option(help: "Split to score: valid or test.") var split = "test"
    @OptionGroup var fewShot: FewShotOptions
    @Option(help: "Seed of the few-shot subset.") var seed: UInt64 = 42
    @Flag(help: "Also print the figures as JSON.") var json = false

    func validate() throws {
        guard split == "valid" || split == "test" else { throw ValidationError("--split must be valid or test") }
        guard bin > 0 && bin.isFinite else { throw ValidationError("--bin must be a positive number of seconds") }
        guard lags >= 1 else { throw ValidationError("--lags must be at least 1") }
        guard ridge == "auto" || (Double(ridge).map { $0 >= 0 && $0.isFinite } ?? false) else {
            throw ValidationError("--ridge must be auto or a number >= 0")
        }
        guard (data == nil) != (config == nil) else { throw ValidationError("give --data DIR or --config FILE") }
    }

    func run() throws {
        try runReportingErrors {
            var cfg = ConfigFile()
            if let config { cfg = try ConfigFile.load(config) }
            if let data { cfg.useDataFolder(data) }
            let known = try checkpoint.flatMap { try Checkpoint.dataSettings(of: $0) }
            if let checkpoint {
                note(
                    known == nil
                        ? "baseline: \(checkpoint) carries no data settings; settings inferred"
                        : "baseline: sessions \(checkpoint) knows are read with the settings they were trained with")
            }
            let (dataset, description) = try cfg.loadData(knownSettings: known)
            for w in dataset.warnings { note(w.description) }
            for line in dataset.settingsReport() { note("data: " + line) }
            var o = WienerBaseline.Options()
            o.bin = bin
            o.lags = lags
            o.ridge = ridge == "auto" ? nil : Double(ridge)
            o.split = Split(rawValue: split)!
            o.seed = seed
            o.fewShot = fewShot.fewShot
            // The rule the compared model was scored with: the config's, else the checkpoint's run's.
            o.shortIntervals =
                try cfg.shortIntervals ?? checkpoint.flatMap { try Checkpoint.shortIntervals(of: $0) } ?? .around
            let r = try WienerBaseline.run(dataset.recordings, options: o, note: note)
            let table = json ? note : { print($0) }
            table("Wiener filter (bin \(bin) s, \(lags) lags) \(split) R² per session, from \(description):")
            for (s, v) in r.r2.sorted(by: { $0.key < $1.key }) {
                table(
                    String(
                        format: "  %@  %.4f  (λ %g, %d training samples)", s, v, r.ridge[s] ?? 0,
                        r.trainingSamples[s] ?? 0))
            }
            table(String(format: "mean R² %.4f (%.1f s)", r.mean, r.seconds))
            if json {
                let obj: [String: Any] = [
                    "split": split, "r2_mean": r.mean, "r2": r.r2, "ridge": r.ridge,
                    "training_samples": r.trainingSamples, "bin": bin, "lags": lags,
                ]
                let d = try JSONSerialization.data(
                    withJSONObject: obj, options: [.sortedKeys, .withoutEscapingSlashes])
                print(String(decoding: d, as: UTF8.self))
            }
        }
    }
}
