import Compute
import Foundation
import POYOData

/// How a pretrained model adapts to new sessions (docs/spec.md §6).
public enum FinetuneMode: String, Sendable, CaseIterable {
    /// Unit identification: only the new unit- and session-embedding rows learn.
    case unitID = "unit-id"
    /// Unit identification for `unitIDSteps`, then every tensor learns (the new embedding rows stay
    /// the only trainable rows of the tables, as in torch_brain, whose tables hold only them).
    case full
}

/// The `finetune:` section of a run config: where the run starts and what it trains.
public struct FinetuneSpec: Equatable, Sendable {
    /// The pretrained checkpoint (absolute path).
    public var checkpoint: String
    public var mode: FinetuneMode
    /// `full` only: steps of unit identification before every tensor learns (nil: a tenth of the run,
    /// torch_brain's 10 of 100 epochs).
    public var unitIDSteps: Int?
    /// Vocabulary rows the checkpoint had (its rows stay frozen); set when the run starts.
    public var pretrainedUnits: Int?
    public var pretrainedSessions: Int?

    public init(checkpoint: String, mode: FinetuneMode, unitIDSteps: Int? = nil) {
        self.checkpoint = checkpoint
        self.mode = mode
        self.unitIDSteps = unitIDSteps
    }

    /// The step at which `full` starts training every tensor.
    public func unfreezeStep(totalSteps: Int) -> Int {
        mode == .unitID ? Int.max : (unitIDSteps ?? max(1, totalSteps / 10))
    }

    /// What trains before optimizer step `step` (0-based).
    public func trainable(at step: Int, totalSteps: Int, params: ParameterSet) -> TrainableSet {
        let everything = step >= unfreezeStep(totalSteps: totalSteps)
        var t = TrainableSet()
        for p in params.all { t[p] = everything ? .all : Trainable.none }
        // The embedding tables train only their new rows, in every phase.
        t[params.unitEmbedding] = .rows((pretrainedUnits ?? 0)..<params.unitEmbedding.shape[0])
        t[params.sessionEmbedding] = .rows((pretrainedSessions ?? 0)..<params.sessionEmbedding.shape[0])
        return t
    }
}

/// Builds what a fine-tuning run starts from: the checkpoint's model with its vocabularies extended
/// by the new sessions' units and session ids (new rows initialised as torch_brain does, N(0, s²)
/// with s = emb_init_scale; the pretrained rows kept, so the model still decodes the pretraining
/// sessions), and the recordings to train on (the sessions the checkpoint does not know).
enum FinetuneStart {
    static func prepare(
        _ spec: inout FinetuneSpec, model config: POYOConfig, batchSize: Int, data: Dataset, device: Device,
        seeds: RunSeeds, note: (String) -> Void
    ) throws -> (model: POYOModel, recordings: [Recording]) {
        let (pretrained, _) = try Checkpoint.load(spec.checkpoint, device: device)
        guard pretrained.config == config else {
            throw POYOError.checkpoint(
                path: spec.checkpoint,
                reason: "its model config (\(pretrained.config.jsonString())) does not match the run's "
                    + "(\(config.jsonString())); fine-tuning keeps the checkpoint's model")
        }
        let known = data.recordings.filter { pretrained.sessionVocab.row(of: $0.sessionID) != nil }
        let new = data.recordings.filter { pretrained.sessionVocab.row(of: $0.sessionID) == nil }
        if !known.isEmpty {
            note(
                "finetune: \(known.map(\.sessionID).joined(separator: ", ")) already in the checkpoint; not trained on")
        }
        guard !new.isEmpty else {
            throw POYOError.batch(
                "no new session to fine-tune on: every session of the data is in \(spec.checkpoint) "
                    + "(poyo eval scores them)")
        }
        var units = pretrained.unitVocab
        var sessions = pretrained.sessionVocab
        var newUnits = 0
        for r in new {
            try sessions.append(r.sessionID)
            for id in r.unitIDs where units.row(of: id) == nil {
                try units.append(id)
                newUnits += 1
            }
        }
        guard newUnits > 0 else {
            throw POYOError.batch(
                "every unit of \(new.map(\.sessionID).joined(separator: ", ")) is already in the checkpoint's "
                    + "vocabulary: there is nothing for unit identification to learn")
        }
        spec.pretrainedUnits = pretrained.unitVocab.count
        spec.pretrainedSessions = pretrained.sessionVocab.count
        try MemoryBudget.check(
            config, unitVocabSize: units.count, sessionVocabSize: sessions.count, training: true,
            batchSize: batchSize, tokensPerWindow: MemoryBudget.tokensPerWindow(new, seconds: config.sequenceLength),
            source: "fine-tuning")
        let model = try POYOModel(
            config: config, unitVocab: units, sessionVocab: sessions, device: device, omega: pretrained.omega)
        try model.params.initialize(seed: seeds.modelInit)
        let tables = [model.params.unitEmbedding, model.params.sessionEmbedding].map(ObjectIdentifier.init)
        for (p, old) in zip(model.params.all, pretrained.params.all) {
            var values = try device.download(old.value)
            if tables.contains(ObjectIdentifier(p)) {
                // Pretrained rows first, then the freshly initialised new rows.
                let fresh = try device.download(p.value)
                values += fresh[values.count...]
            }
            try device.write(values, to: p.value)
        }
        note(
            "finetune (\(spec.mode.rawValue)) from \(spec.checkpoint): \(new.count) new session(s), \(newUnits) new "
                + "units (vocabulary \(pretrained.unitVocab.count) → \(units.count)); the pretrained rows are kept, "
                + "so the model still decodes the pretraining sessions")
        return (model, new)
    }
}

extension FinetuneStart {
    /// One warning per new session whose target normalisation matches none of the pretrained
    /// sessions' (another scale, another source: no preset, the data's own statistics): the readout
    /// was trained on the pretrained scale and stays frozen in unit identification (and for the first
    /// tenth of `full`), so the new session's embeddings would have to absorb the difference.
    static func normalisationWarnings(
        new: [Recording], settings: [String: RecordingSettings], pretrained: [String: RecordingSettings]
    ) -> [String] {
        guard !pretrained.isEmpty else { return [] }
        func scale(_ mean: [Float], _ std: [Float]) -> String {
            let m = mean.map { String(format: "%g", Double($0)) }.joined(separator: ",")
            let s = std.map { String(format: "%g", Double($0)) }.joined(separator: ",")
            return "(v − \(m)) / \(s)"
        }
        func close(_ a: [Float], _ b: [Float]) -> Bool {
            a.count == b.count && zip(a, b).allSatisfy { abs($0 - $1) <= 1e-4 * max(abs($0), abs($1), 1) }
        }
        let known = pretrained.sorted { $0.key < $1.key }.map(\.value)
        var scales: [String] = []
        for k in known {
            let text = scale(k.normalizeMean, k.normalizeStd) + (k.preset.map { " (preset \($0))" } ?? "")
            if !scales.contains(text) { scales.append(text) }
        }
        var out: [String] = []
        for r in new {
            let mean = settings[r.sessionID]?.normalizeMean ?? r.normalizationMean
            let std = settings[r.sessionID]?.normalizeStd ?? r.normalizationStd
            let matches = known.contains { close($0.normalizeMean, mean) && close($0.normalizeStd, std) }
            guard !matches else { continue }
            let source = settings[r.sessionID]?.preset.map { "preset \($0)" } ?? "no preset"
            out.append(
                "warning: finetune: \(r.sessionID)'s targets are normalised \(scale(mean, std)) (\(source)), the "
                    + "pretrained sessions' \(scales.prefix(3).joined(separator: "; "))"
                    + (scales.count > 3 ? "; …" : "") + "; "
                    + "the readout learnt that scale and stays frozen in unit identification, so set the "
                    + "dataset entry's normalize_mean/normalize_std (or its preset) to match")
        }
        return out
    }
}
