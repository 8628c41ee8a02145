import ArgumentParser
import Compute
import Foundation
import POYO
import POYOData

struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Evaluate a checkpoint: per-session R² over stitched 1 s windows (0.5 s stride).")

    @Option(help: "checkpoint.safetensors, or a run folder of poyo train / poyo finetune.") var checkpoint: String
    @Option(help: "Folder of brainsets HDF5 recordings.") var data: String
    @Option(help: "Split to score: valid or test.") var split = "valid"
    @Flag(help: "Also print the figures as JSON.") var json = false
    @Option(name: .customLong("batch-size"), help: "Windows per batch.") var batchSize = 32
    @Option(help: "Write every stitched sample (session, time, targets, predictions, scored) to this CSV.")
    var predictions: String?
    @Option(help: "Draw a few trials per session, predicted against true velocity, to this SVG.") var plot: String?
    @Flag(help: "Also score the Wiener filter (fitted on each session's training split) beside the model.")
    var baseline = false
    @OptionGroup var deviceOptions: DeviceOptions

    func validate() throws {
        guard Split(rawValue: split) != nil else { throw ValidationError("--split must be train, valid or test") }
        guard batchSize > 0 else { throw ValidationError("--batch-size must be positive") }
    }

    func run() throws {
        try runReportingErrors {
            let (device, deviceNote) = try DeviceSelection(parsing: deviceOptions.device).make()
            if let deviceNote { note(deviceNote) }
            let (model, _) = try Checkpoint.load(checkpoint, device: device)
            let all = try Dataset.load(directory: URL(fileURLWithPath: data))
            // Only sessions the checkpoint knows can be decoded; others need fine-tuning first.
            let known = all.recordings.filter { model.sessionVocab.row(of: $0.sessionID) != nil }
            let skipped = all.recordings.filter { model.sessionVocab.row(of: $0.sessionID) == nil }.map(\.sessionID)
            if !skipped.isEmpty {
                note("eval: skipping \(skipped.joined(separator: ", ")) (not in the checkpoint's session vocabulary)")
            }
            guard !known.isEmpty else {
                throw POYOError.batch("no session in \(data) is known to \(checkpoint)")
            }
            let tokenizer = try Tokenizer(
                recordings: known, unitVocabulary: model.unitVocab, sessionVocabulary: model.sessionVocab,
                config: TokenizerConfig(
                    sequenceLength: model.config.sequenceLength,
                    latentStep: model.config.latentStep,
                    numLatentsPerStep: model.config.numLatentsPerStep))
            let r = try Evaluator.evaluate(
                model: model, tokenizer: tokenizer, split: Split(rawValue: split)!, batchSize: batchSize,
                keepSamples: predictions != nil || plot != nil)
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
            var wiener: [String: Double] = [:]
            if baseline {
                var o = WienerBaseline.Options()
                o.split = Split(rawValue: split)!
                wiener = try WienerBaseline.run(known, options: o, note: note).r2
            }
            table("\(split) R² per session" + (baseline ? " (POYO, Wiener filter):" : ":"))
            for (s, v) in r.r2.sorted(by: { $0.key < $1.key }) {
                table(
                    String(format: "  %@  %.4f", s, v) + (wiener[s].map { String(format: "  Wiener %.4f", $0) } ?? ""))
            }
            table(String(format: "mean R² %.4f (%d windows, %.1f s)", r.mean, r.windows, r.seconds))
            if json {
                let obj: [String: Any] = [
                    "split": split, "r2_mean": r.mean, "r2": r.r2, "windows": r.windows,
                    "scored_samples": r.scoredSamples, "baseline_r2": wiener,
                    "checkpoint": checkpoint, "device": device.name,
                ]
                print(
                    String(
                        decoding: try JSONSerialization.data(
                            withJSONObject: obj, options: [.sortedKeys, .withoutEscapingSlashes]), as: UTF8.self))
            }
        }
    }
}
