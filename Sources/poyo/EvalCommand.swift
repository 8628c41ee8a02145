import ArgumentParser
import Compute
import Foundation
import POYO
import POYOData

struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Evaluate a checkpoint: per-session R² over stitched 1 s windows (0.5 s stride).")

    @Option(help: "checkpoint.safetensors, or a run folder of poyo train / poyo finetune.") var checkpoint: String
    @Option(help: "Folder of recordings (.h5 brainsets, .nwb).") var data: String?
    @Option(
        help: ArgumentHelp(
            "YAML config with a dataset list (or data_root): its data settings replace the checkpoint's.",
            discussion: "Without it, each session is read with the settings it was trained with (the checkpoint's)."))
    var config: String?
    @Option(help: "Split to score: valid or test.") var split = "valid"
    @Flag(help: "Also print the figures as JSON.") var json = false
    @Option(name: .customLong("batch-size"), help: "Windows per batch.") var batchSize = 32
    @Option(help: "Write every stitched sample (session, time, targets, predictions, scored) to this CSV.")
    var predictions: String?
    @Option(help: "Draw a few trials per session, predicted against true velocity, to this SVG.") var plot: String?
    @Flag(
        help: ArgumentHelp(
            "Also score the Wiener filter beside the model, fitted on the training data the model learned from.",
            discussion: "The checkpoint's few-shot subset, if any, is drawn again from its run config."))
    var baseline = false
    @OptionGroup var deviceOptions: DeviceOptions

    func validate() throws {
        guard Split(rawValue: split) != nil else { throw ValidationError("--split must be train, valid or test") }
        guard batchSize > 0 else { throw ValidationError("--batch-size must be positive") }
        guard data != nil || config != nil else { throw ValidationError("give --data DIR or --config FILE") }
        if baseline && split == "train" {
            throw ValidationError("--baseline scores valid or test: the Wiener filter is fitted on the training split")
        }
    }

    func run() throws {
        try runReportingErrors {
            let (device, deviceNote) = try DeviceSelection(parsing: deviceOptions.device).make()
            if let deviceNote { note(deviceNote) }
            let (model, meta) = try Checkpoint.load(checkpoint, device: device)
            let path = Checkpoint.resolve(checkpoint)
            let (all, description, cfg) = try loadEvaluationData(
                checkpointSettings: try Checkpoint.dataSettings(meta, path: path), sessionVocab: model.sessionVocab)
            // A --config that names the rule wins; else the run's own, so eval windows are training's.
            let rule = try cfg.shortIntervals ?? Checkpoint.shortIntervals(meta, path: path) ?? .around
            // Only sessions the checkpoint knows can be decoded; others need fine-tuning first.
            let known = all.recordings.filter { model.sessionVocab.row(of: $0.sessionID) != nil }
            let skipped = all.recordings.filter { model.sessionVocab.row(of: $0.sessionID) == nil }.map(\.sessionID)
            if !skipped.isEmpty {
                note("eval: skipping \(skipped.joined(separator: ", ")) (not in the checkpoint's session vocabulary)")
            }
            guard !known.isEmpty else {
                throw POYOError.batch("no session in \(description) is known to \(checkpoint)")
            }
            // The baseline learns from what the model learned from; refused before any work if unknown.
            let wienerSessions =
                baseline
                ? try WienerBaseline.sessions(
                    known, trainedOn: try Checkpoint.trainingSubsets(of: checkpoint), note: note) : nil
            let tokenizer = try Tokenizer(
                recordings: known, unitVocabulary: model.unitVocab, sessionVocabulary: model.sessionVocab,
                config: TokenizerConfig(
                    sequenceLength: model.config.sequenceLength,
                    latentStep: model.config.latentStep,
                    numLatentsPerStep: model.config.numLatentsPerStep))
            for line in try Evaluator.coverageReport(
                known, split: Split(rawValue: split)!, window: model.config.sequenceLength, shortIntervals: rule)
            {
                note(line.hasPrefix("warning:") ? line : "data: " + line)
            }
            let r = try Evaluator.evaluate(
                model: model, tokenizer: tokenizer, split: Split(rawValue: split)!, batchSize: batchSize,
                keepSamples: predictions != nil || plot != nil, shortIntervals: rule)
            if let predictions {
                try AtomicFile.write(Data(PredictionOutputs.csv(r, recordings: known).utf8), to: predictions)
                note("predictions: \(predictions)")
            }
            if let plot {
                try AtomicFile.write(
                    Data(PredictionOutputs.svg(r, recordings: known, split: split).utf8), to: plot)
                note("plot: \(plot)")
            }
            // With --json, stdout carries only the JSON object; the table goes to stderr.
            let table = json ? note : { print($0) }
            var wiener: WienerBaseline.Result?
            if let wienerSessions {
                var o = WienerBaseline.Options()
                o.split = Split(rawValue: split)!
                o.shortIntervals = rule
                o.windows = tokenizer.config
                wiener = try WienerBaseline.run(wienerSessions, options: o, note: note)
            }
            table("\(split) R² per session" + (baseline ? " (POYO, Wiener filter):" : ":"))
            for (s, v) in r.r2.sorted(by: { $0.key < $1.key }) {
                let w = wiener?.r2[s].map { String(format: "  Wiener %.4f", $0) } ?? ""
                table(String(format: "  %@  %.4f", s, v) + w)
            }
            table(String(format: "mean R² %.4f (%d windows, %.1f s)", r.mean, r.windows, r.seconds))
            if let wiener {
                table(WienerOutput.title(wiener.options) + ":")
                for line in WienerOutput.choices(wiener) { table(line) }
            }
            if json {
                var obj: [String: Any] = [
                    "split": split, "r2_mean": r.mean, "r2": r.r2, "windows": r.windows,
                    "scored_samples": r.scoredSamples, "baseline_r2": wiener?.r2 ?? [:],
                    "checkpoint": checkpoint, "device": device.name, "data_settings": settingsSource,
                ]
                if let wiener { obj["baseline"] = WienerOutput.json(wiener) }
                print(
                    String(
                        decoding: try JSONSerialization.data(
                            withJSONObject: obj, options: [.sortedKeys, .withoutEscapingSlashes]), as: UTF8.self))
            }
        }
    }

    /// The data to score: `--config`'s dataset (its settings win, and we say so) or `--data`'s
    /// folder read with the settings each session was trained with; and the config it came from.
    func loadEvaluationData(checkpointSettings: [String: RecordingSettings]?, sessionVocab: Vocabulary) throws
        -> (Dataset, String, ConfigFile)
    {
        var cfg = ConfigFile()
        if let config { cfg = try ConfigFile.load(config) }
        if let data { cfg.useDataFolder(data) }
        if let config {
            note("eval: data settings from \(config) (they replace the checkpoint's)")
        } else if checkpointSettings != nil {
            note("eval: each session read with the data settings it was trained with (from the checkpoint)")
        }
        let (dataset, description) = try cfg.loadData(
            scoring: checkpoint, settings: checkpointSettings, sessionVocab: sessionVocab, configWins: config != nil,
            note: { note("eval: " + $0) })
        return (dataset, description, cfg)
    }

    var settingsSource: String { config == nil ? "checkpoint" : "config" }
}
