import Foundation
import POYOData

/// Everything a training run is configured by, besides the model config.
/// Keys follow torch_brain's training config (`batch_size`, `optim.base_lr`, ...).
public struct TrainOptions: Equatable, Sendable {
    public var steps = 1000
    public var batchSize = 32
    /// torch_brain scales the LR by the batch: max_lr = base_lr × batch_size.
    public var baseLR = 3.125e-5
    /// Overrides `baseLR × batchSize` when set (`--lr`).
    public var maxLROverride: Double?
    public var weightDecay = 1e-4
    /// Fraction of the steps at max LR before the cosine decay (`optim.lr_decay_start`).
    public var lrDecayStart = 0.5
    public var seed: UInt64 = 42
    /// Validation every this many steps (and at the end); 0 = only at the end.
    public var evalEvery = 250
    /// Checkpoint and train state every this many steps (`checkpoint_every`, `--checkpoint-every`);
    /// nil: at every validation, or every tenth of the run (at least 100 steps apart) when validation
    /// runs only at the end.
    /// Also at the end and on a graceful stop. Changes no result, so a resume may change it.
    public var checkpointEvery: Int?
    /// `epochs:` (torch_brain): the run's length in epochs; resolved when the data is known to
    /// steps = epochs × whole batches per epoch (torch_brain's `len(loader)`), and then cleared.
    /// Batches still run across epoch ends: the remainder of an epoch carries over into the next.
    public var epochs: Int?
    /// `eval_epochs:`: validation every this many epochs, resolved the same way into `evalEvery`.
    public var evalEpochs: Int?
    /// A few-shot subset of each trained session's training trials (`train_trials`, `train_fraction`;
    /// `--train-trials`, `--train-fraction`); nil: every training trial.
    public var fewShot: FewShot?
    public var evalBatchSize = 32
    /// `eval_sessions:`: validation during the run scores this many sessions, the same seeded sample
    /// each time (the best model is chosen on it); the validation at the end scores every session.
    /// nil: every session each time.
    public var evalSessions: Int?
    /// Micro-batches per optimizer step (`grad_accum`, `--grad-accum`): the global batch of
    /// `batchSize` windows is split into this many contiguous parts, each run forward and backward
    /// on its own, and their gradients are summed in part order, each weighted by its share of
    /// the batch's loss weight (docs/distributed.md). Under N processes, each runs `gradAccum / N`
    /// parts. 1: the whole batch at once (a run's results are those of the releases before it).
    public var gradAccum = 1
    public var unitDropout: UnitDropout? = UnitDropout(minUnits: 30, modeUnits: 100, maxUnits: 300, peak: 4)
    public var optimizer: OptimizerKind = .lamb

    public enum OptimizerKind: String, Sendable, CaseIterable { case lamb, adamw }

    public init() {}

    public var maxLR: Double { maxLROverride ?? baseLR * Double(batchSize) }

    /// The checkpoint cadence in force (see `checkpointEvery`).
    /// Without validation (`eval_every: 0`) a tenth of the run, but never more often than every 100
    /// steps: a short run is not saved at every step.
    public var checkpointInterval: Int { checkpointEvery ?? (evalEvery > 0 ? evalEvery : max(100, steps / 10)) }

    public func validate() throws {
        guard steps > 0 else { throw POYOError.invalidConfig("training: steps must be positive") }
        guard batchSize > 0, evalBatchSize > 0 else {
            throw POYOError.invalidConfig("training: batch size must be positive")
        }
        guard maxLR > 0, maxLR.isFinite else {
            throw POYOError.invalidConfig("training: learning rate must be positive")
        }
        guard weightDecay >= 0 else { throw POYOError.invalidConfig("training: weight_decay must be >= 0") }
        guard lrDecayStart > 0, lrDecayStart <= 1 else {
            throw POYOError.invalidConfig("training: lr_decay_start must be in (0, 1]")
        }
        guard evalEvery >= 0 else { throw POYOError.invalidConfig("training: eval_every must be >= 0") }
        if let n = evalSessions, n <= 0 {
            throw POYOError.invalidConfig("training: eval_sessions must be positive, found \(n)")
        }
        if let c = checkpointEvery, c <= 0 {
            throw POYOError.invalidConfig("training: checkpoint_every must be positive")
        }
        guard gradAccum >= 1, gradAccum <= batchSize else {
            throw POYOError.invalidConfig(
                "training: grad_accum must be from 1 to batch_size (\(batchSize)), found \(gradAccum)")
        }
    }

    /// A JSON object of the resolved options (saved with checkpoints and printed at start).
    public var json: [String: Any] {
        var d: [String: Any] = [
            "steps": steps, "batch_size": batchSize, "base_lr": baseLR, "max_lr": maxLR,
            "weight_decay": weightDecay, "lr_decay_start": lrDecayStart, "seed": seed,
            "eval_every": evalEvery, "eval_batch_size": evalBatchSize, "optimizer": optimizer.rawValue,
        ]
        if gradAccum != 1 { d["grad_accum"] = gradAccum }
        if let evalSessions { d["eval_sessions"] = evalSessions }
        if let u = unitDropout {
            d["unit_dropout"] = [
                "min_units": u.minUnits, "mode_units": u.modeUnits, "max_units": u.maxUnits, "peak": u.peak,
            ]
        }
        return d
    }
}
