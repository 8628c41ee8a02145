import ArgumentParser
import Foundation
import POYO
import POYOData

/// `--causal` (the default) or `--acausal`.
enum Causality: String, EnumerableFlag {
    case causal, acausal

    static func help(for value: Causality) -> ArgumentHelp? {
        switch value {
        case .causal: return "Only bins that end at or before each sample."
        case .acausal: return "Also bins after each sample (a horizon), as POYO's 1 s window also sees them."
        }
    }
}

struct Baseline: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Score a ridge Wiener filter (binned spike counts with history) per session: the floor to beat.",
        discussion: """
            Per session: spike counts in bins of --bin seconds ending at each sample (the current bin included; \
            --acausal adds bins after it), z-scored, ridge-regressed on the training split (or a few-shot subset \
            of its trials) with POYO's loss weights. History, horizon and λ are chosen inside the training data, \
            never on the split scored: on valid when scoring test, by 5-fold cross-validation over the training \
            trials when scoring valid. Scored on the same windows, eval mask and split as poyo eval.
            """)

    @Option(help: "Folder of recordings (.h5 brainsets, .nwb).") var data: String?
    @Option(help: "YAML config with a dataset list (instead of --data).") var config: String?
    @Option(
        help: "A checkpoint or run folder: read each session it knows with the data settings it was trained with.")
    var checkpoint: String?
    @Option(help: "Bin width in seconds.") var bin = 0.02
    @Option(help: "Seconds of spike history, the current bin included (default: chosen from 0.1 to 0.7 s).")
    var history: Double?
    @Option(help: ArgumentHelp("Deprecated: --history N×bin (N bins, the current bin included).", visibility: .hidden))
    var lags: Int?
    @Flag var causality: Causality = .causal
    @Option(help: "--acausal: seconds of look-ahead (default: chosen from 0 to 0.5 s).") var horizon: Double?
    @Option(help: "auto (chosen inside the training data) or a relative ridge λ.") var ridge = "auto"
    @Option(help: "loss (POYO's loss weights; weight-0 samples left out) or none (every finite sample weighs 1).")
    var weights: WienerWeights = .loss
    @Option(help: "Split to score: valid or test.") var split: Split = .test
    @OptionGroup var fewShot: FewShotOptions
    @Option(help: "Seed of the few-shot subset.") var seed: UInt64 = 42
    @Flag(help: "Also print the figures as JSON.") var json = false

    func validate() throws {
        guard split != .train else { throw ValidationError("--split must be valid or test") }
        guard bin > 0 && bin <= WienerBaseline.maxBin else {
            throw ValidationError(
                "--bin must be above 0 and at most \(WienerBaseline.maxBin) s (one step of the filter's history)")
        }
        if let history, !(history.isFinite && (history / bin).rounded() >= 1) {
            throw ValidationError("--history must be at least one bin (--bin \(bin) s)")
        }
        if let lags, lags < 1 { throw ValidationError("--lags must be at least 1") }
        if lags != nil && history != nil { throw ValidationError("give --history or --lags (deprecated), not both") }
        if let horizon {
            guard causality == .acausal else { throw ValidationError("--horizon needs --acausal") }
            guard horizon >= 0 && horizon.isFinite else { throw ValidationError("--horizon must be >= 0 seconds") }
        }
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
            o.history = history
            if let lags {
                o.history = Double(lags) * bin
                let seconds = Double(lags) * bin
                note("baseline: --lags is deprecated; --lags \(lags) = --history \(seconds) (current bin included)")
            }
            o.causal = causality == .causal
            o.horizon = horizon
            o.ridge = ridge == "auto" ? nil : Double(ridge)
            o.weights = weights
            o.split = split
            // The rule the compared model was scored with: the config's, else the checkpoint's run's.
            o.shortIntervals =
                try cfg.shortIntervals ?? checkpoint.flatMap { try Checkpoint.shortIntervals(of: $0) } ?? .around
            let sessions = try WienerBaseline.sessions(
                dataset.recordings, fewShot: fewShot.fewShot, seed: seed, note: note)
            let r = try WienerBaseline.run(sessions, options: o, note: note)
            // With --json, stdout carries only the JSON object; the table goes to stderr.
            let table = json ? note : { print($0) }
            table("\(WienerOutput.title(o)) \(split.rawValue) R² per session, from \(description):")
            for (id, s) in r.sessions.sorted(by: { $0.key < $1.key }) {
                let v = r.r2[id].map { String(format: "%.4f", $0) } ?? "n/a"
                table("  \(id)  \(v)  " + WienerBaseline.describe(s, causal: o.causal))
            }
            table(String(format: "mean R² %.4f (%.1f s)", r.mean, r.seconds))
            if json {
                var obj = WienerOutput.json(r)
                obj["split"] = split.rawValue
                try printJSON(obj)
            }
        }
    }
}
