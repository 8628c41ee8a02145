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
    @Option(help: "Split to score: train, valid or test.") var split: Split = .valid
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
    @Flag(
        help: ArgumentHelp(
            "Also score each sample from the window that ends at it (what a live decoder gets).",
            discussion: "Runs the streaming decoder over the split, one update per scored sample (docs/streaming.md)."))
    var causal = false
    @OptionGroup var deviceOptions: DeviceOptions

    func validate() throws {
        guard batchSize > 0 else { throw ValidationError("--batch-size must be positive") }
        guard data != nil || config != nil else { throw ValidationError("give --data DIR or --config FILE") }
        if baseline && split == .train {
            throw ValidationError("--baseline scores valid or test: the Wiener filter is fitted on the training split")
        }
    }

    func run() throws {
        try runReportingErrors {
            let device = try deviceOptions.make()
            var request = CheckpointEvaluation.Request(checkpoint: checkpoint)
            request.dataFolder = data
            request.configPath = config
            request.split = split
            request.batchSize = batchSize
            request.keepSamples = predictions != nil || plot != nil
            request.baseline = baseline
            let e = try CheckpointEvaluation.run(request, device: device, note: note)
            let r = e.result
            if let predictions {
                try AtomicFile.write(Data(PredictionOutputs.csv(r, recordings: e.recordings).utf8), to: predictions)
                note("predictions: \(predictions)")
            }
            if let plot {
                try AtomicFile.write(
                    Data(PredictionOutputs.svg(r, recordings: e.recordings, split: split.rawValue).utf8), to: plot)
                note("plot: \(plot)")
            }
            // With --json, stdout carries only the JSON object; the table goes to stderr.
            let table = json ? note : { print($0) }
            let title = "\(split.rawValue) R² per session" + (baseline ? " (POYO, Wiener filter):" : ":")
            for line in r2Table(title: title, r2: r.r2, wiener: e.wiener?.r2, fullTable: "the --json output") {
                table(line)
            }
            table(String(format: "mean R² %.4f (%ld windows, %.1f s)", r.mean, r.windows, r.seconds))
            if let wiener = e.wiener {
                table(WienerOutput.title(wiener.options) + ":")
                for line in WienerOutput.choices(wiener) { table(line) }
            }
            let live =
                causal ? try CausalEvaluation.evaluate(model: e.model, recordings: e.recordings, split: split) : nil
            if let live {
                table(
                    "\(split.rawValue) R² per session, stitched windows and causal "
                        + "(the window ending at each sample):")
                // Past 20 sessions only the means (every session's figures are in --json).
                for (session, v) in r.r2.sorted(by: { $0.key < $1.key }) where r.r2.count <= 20 {
                    table(String(format: "  %@  stitched %.4f  causal %.4f", session, v, live.r2[session] ?? .nan))
                }
                table(String(format: "mean R² stitched %.4f, causal %.4f (%.1f s)", r.mean, live.mean, live.seconds))
            }
            if json {
                var obj: [String: Any] = [
                    "split": split.rawValue, "r2_mean": r.mean, "r2": r.r2, "windows": r.windows,
                    "scored_samples": r.scoredSamples, "baseline_r2": e.wiener?.r2 ?? [:],
                    "checkpoint": checkpoint, "device": device.name, "data_settings": e.settingsSource,
                ]
                if let wiener = e.wiener { obj["baseline"] = WienerOutput.json(wiener) }
                if let live {
                    obj["causal_r2"] = live.r2
                    obj["causal_r2_mean"] = live.mean
                }
                try printJSON(obj)
            }
        }
    }
}
