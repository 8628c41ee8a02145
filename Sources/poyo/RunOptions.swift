import ArgumentParser
import Foundation
import POYO
import POYOData

/// The options that shape a run, shared by `poyo train` and `poyo finetune` (each command's
/// description gives its defaults).
struct RunOptions: ParsableArguments {
    // Numbers are read `.unconditional`ly so that `--steps -5` is told "must be positive" by
    // `validate()` rather than "missing value" (a leading '-' would otherwise read as an option).
    @Option(parsing: .unconditional, help: "Optimizer steps.") var steps: Int?
    @Option(name: .customLong("batch-size"), parsing: .unconditional, help: "Windows per batch.") var batchSize: Int?
    @Option(
        name: .customLong("grad-accum"), parsing: .unconditional,
        help: "Split each batch into K micro-batches, their gradients summed in order (less memory; same batch).")
    var gradAccum: Int?
    @Option(parsing: .unconditional, help: "Peak learning rate.") var lr: Double?
    @Option(parsing: .unconditional, help: "Random seed (initialisation, sampling, dropout).") var seed: UInt64?
    @Option(
        name: .customLong("checkpoint-every"), parsing: .unconditional,
        help: "Save checkpoint and train state every N steps.")
    var checkpointEvery: Int?

    func validate() throws {
        if let steps, steps <= 0 { throw ValidationError("--steps must be positive") }
        if let batchSize, batchSize <= 0 { throw ValidationError("--batch-size must be positive") }
        if let gradAccum, gradAccum <= 0 { throw ValidationError("--grad-accum must be positive") }
        if let lr, !(lr > 0 && lr.isFinite) { throw ValidationError("--lr must be a positive number") }
        if let checkpointEvery, checkpointEvery <= 0 { throw ValidationError("--checkpoint-every must be positive") }
    }

    /// Overrides the config's training options with those given.
    func apply(to cfg: inout ConfigFile) throws {
        if let steps {
            cfg.train.steps = steps
            cfg.train.epochs = nil  // --steps wins over a config's epochs
        }
        if let batchSize { cfg.train.batchSize = batchSize }
        if let gradAccum { cfg.train.gradAccum = gradAccum }
        if let lr { cfg.train.maxLROverride = lr }
        if let seed { cfg.train.seed = seed }
        if let checkpointEvery { cfg.train.checkpointEvery = checkpointEvery }
        try cfg.train.validate()
    }
}

/// A few-shot subset of each session's training trials (`poyo finetune`, `poyo baseline`).
struct FewShotOptions: ParsableArguments {
    @Option(
        name: .customLong("train-trials"), parsing: .unconditional,
        help: "Use this many of each session's training trials (seeded).")
    var trainTrials: Int?
    @Option(
        name: .customLong("train-fraction"), parsing: .unconditional,
        help: "Use this fraction (0, 1] of each session's training trials.")
    var trainFraction: Double?

    func validate() throws {
        if trainTrials != nil && trainFraction != nil {
            throw ValidationError("give --train-trials or --train-fraction, not both")
        }
        if let trainTrials, trainTrials < 1 { throw ValidationError("--train-trials must be at least 1") }
        if let trainFraction, !(trainFraction > 0 && trainFraction <= 1) {
            throw ValidationError("--train-fraction must be in (0, 1]")
        }
    }

    var fewShot: FewShot? { trainTrials.map { .trials($0) } ?? trainFraction.map { .fraction($0) } }
}

/// A new run must not overwrite one that could be resumed.
func requireNoRun(in dir: URL) throws {
    if FileManager.default.fileExists(atPath: dir.appendingPathComponent("train_state.safetensors").path) {
        throw POYOError.checkpoint(
            path: dir.path,
            reason: "already holds a run: continue it with `poyo train --resume \(dir.path)` or choose another --out")
    }
}
