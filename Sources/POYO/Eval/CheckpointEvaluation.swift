import Compute
import Foundation
import POYOData

extension TokenizerConfig {
    /// The windows and latent grid a model was built for.
    public init(model c: POYOConfig) {
        self.init(sequenceLength: c.sequenceLength, latentStep: c.latentStep, numLatentsPerStep: c.numLatentsPerStep)
    }
}

extension ConfigFile {
    /// `--data DIR`: the folder replaces the config's dataset list.
    public mutating func useDataFolder(_ path: String) {
        dataset = nil
        dataRoot = URL(fileURLWithPath: path).standardizedFileURL.path
    }
}

/// Scoring a checkpoint on recordings (what `poyo eval` prints): the sessions it knows, read with the
/// settings they were trained with unless a config replaces them, over the windows training used,
/// with the Wiener floor fitted on what the model learned from when asked.
public struct CheckpointEvaluation {
    public struct Request: Sendable {
        /// checkpoint.safetensors, or a run folder.
        public var checkpoint: String
        /// A folder of recordings; replaces the config's dataset list.
        public var dataFolder: String?
        /// A YAML config whose data settings replace the checkpoint's.
        public var configPath: String?
        public var split: Split = .valid
        public var batchSize = 32
        /// Keep every stitched sample (for prediction CSVs and plots).
        public var keepSamples = false
        /// Also fit and score the Wiener filter (not on `.train`: it is fitted there).
        public var baseline = false

        public init(checkpoint: String) { self.checkpoint = checkpoint }
    }

    public let request: Request
    public let model: POYOModel
    /// The sessions scored (those the checkpoint knows).
    public let recordings: [Recording]
    public let dataDescription: String
    public let result: EvaluationResult
    public let wiener: WienerBaseline.Result?
    /// "config" when `configPath` gave the data settings, else "checkpoint".
    public var settingsSource: String { request.configPath == nil ? "checkpoint" : "config" }

    /// Loads the checkpoint and data, scores, and reports progress and choices through `note`.
    public static func run(_ r: Request, device: Device, note: (String) -> Void) throws -> CheckpointEvaluation {
        guard r.batchSize > 0 else { throw POYOError.invalidConfig("batch size must be positive") }
        guard r.dataFolder != nil || r.configPath != nil else {
            throw POYOError.invalidConfig("no data: give a data folder or a config")
        }
        if r.baseline && r.split == .train {
            throw POYOError.invalidConfig(
                "the Wiener baseline scores valid or test: it is fitted on the training split")
        }
        let (model, meta) = try Checkpoint.load(r.checkpoint, device: device)
        let path = Checkpoint.resolve(r.checkpoint)
        try MemoryBudget.check(
            model.config, unitVocabSize: model.unitVocab.count, sessionVocabSize: model.sessionVocab.count,
            training: false, batchSize: r.batchSize, source: "eval --batch-size \(r.batchSize)")
        let (all, description, cfg) = try loadData(
            r, checkpointSettings: try Checkpoint.dataSettings(meta, path: path), sessionVocab: model.sessionVocab,
            note: note)
        // A config that names the rule wins; else the run's own, so eval windows are training's.
        let rule = try cfg.shortIntervals ?? Checkpoint.shortIntervals(meta, path: path) ?? .around
        // Only sessions the checkpoint knows can be decoded; others need fine-tuning first.
        let known = all.recordings.filter { model.sessionVocab.row(of: $0.sessionID) != nil }
        let skipped = all.recordings.filter { model.sessionVocab.row(of: $0.sessionID) == nil }.map(\.sessionID)
        if !skipped.isEmpty {
            note("eval: skipping \(skipped.joined(separator: ", ")) (not in the checkpoint's session vocabulary)")
        }
        guard !known.isEmpty else { throw POYOError.batch("no session in \(description) is known to \(r.checkpoint)") }
        // The baseline learns from what the model learned from; refused before any work if unknown.
        let wienerSessions =
            r.baseline
            ? try WienerBaseline.sessions(
                known, trainedOn: try Checkpoint.trainingSubsets(of: r.checkpoint), note: note)
            : nil
        let tokenizer = try Tokenizer(
            recordings: known, unitVocabulary: model.unitVocab, sessionVocabulary: model.sessionVocab,
            config: TokenizerConfig(model: model.config))
        for line in try Evaluator.coverageReport(
            known, split: r.split, window: model.config.sequenceLength, shortIntervals: rule)
        {
            note(line.hasPrefix("warning:") ? line : "data: " + line)
        }
        let result = try Evaluator.evaluate(
            model: model, tokenizer: tokenizer, split: r.split, batchSize: r.batchSize, keepSamples: r.keepSamples,
            shortIntervals: rule)
        var wiener: WienerBaseline.Result?
        if let wienerSessions {
            var o = WienerBaseline.Options()
            o.split = r.split
            o.shortIntervals = rule
            o.windows = tokenizer.config
            wiener = try WienerBaseline.run(wienerSessions, options: o, note: note)
        }
        return CheckpointEvaluation(
            request: r, model: model, recordings: known, dataDescription: description, result: result, wiener: wiener)
    }

    /// The data to score: the config's dataset (its settings win, and we say so) or the folder read with
    /// the settings each session was trained with; and the config it came from.
    static func loadData(
        _ r: Request, checkpointSettings: [String: RecordingSettings]?, sessionVocab: Vocabulary,
        note: (String) -> Void
    ) throws -> (Dataset, String, ConfigFile) {
        var cfg = ConfigFile()
        if let config = r.configPath { cfg = try ConfigFile.load(config) }
        if let data = r.dataFolder { cfg.useDataFolder(data) }
        if let config = r.configPath {
            note("eval: data settings from \(config) (they replace the checkpoint's)")
        } else if checkpointSettings != nil {
            note("eval: each session read with the data settings it was trained with (from the checkpoint)")
        }
        let (dataset, description) = try cfg.loadData(
            scoring: r.checkpoint, settings: checkpointSettings, sessionVocab: sessionVocab,
            configWins: r.configPath != nil, note: { note("eval: " + $0) })
        return (dataset, description, cfg)
    }
}
