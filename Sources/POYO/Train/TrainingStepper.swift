import Compute
import Foundation
import POYOData

/// Every seed of a run, derived from its one root seed here and nowhere else. The derivations are
/// those of the first releases, so a seed gives the same run as before.
public struct RunSeeds: Sendable, Equatable {
    public let root: UInt64

    public init(root: UInt64) { self.root = root }

    /// Parameter initialisation (`ParameterSet.initialize(seed:)`).
    public var modelInit: UInt64 { root }
    /// The window sampler: epoch `e` is shuffled by a stream derived from this and `e`.
    public var sampler: UInt64 { root }
    /// Unit dropout: one generator, advanced by every window drawn (its state is saved and restored).
    public var unitDropout: SeededRNG { SeededRNG(seed: root ^ 0x5EED_0F_DA7A) }
    /// The few-shot subset of training trials (`FewShot`), per recording.
    public var fewShot: UInt64 { root ^ 0xF3_5407_0000 }
    /// The model's dropout masks at 0-based optimizer step `step` (stateless: a hash of seed and step).
    public func dropout(step: Int) -> UInt64 { DropoutMask.hash(root, UInt64(step)) }
}

/// The one copy of the step sequence: prepare the batch, forward, zero the gradients, backward,
/// optimizer step under the schedule, read the loss (the only host read of a step).
/// `TrainingSession.step()` and `poyo-bench step` both run it.
public final class TrainingStepper {
    public let model: POYOModel
    public let optimizer: Optimizer
    public let schedule: OneCycleSchedule
    public let seeds: RunSeeds
    /// Called between backward and the optimizer update of each step (0-based index): a fault
    /// injection point for the kill-and-resume tests (`POYO_FAULT_KILL_AT_STEP` in the CLI).
    public var midStep: ((Int) -> Void)?

    public init(model: POYOModel, optimizer: Optimizer, schedule: OneCycleSchedule, seeds: RunSeeds) {
        self.model = model
        self.optimizer = optimizer
        self.schedule = schedule
        self.seeds = seeds
    }

    /// Runs optimizer step `index` (0-based) on `batch`; returns the loss and the learning rate used.
    public func step(_ batch: Batch, index: Int) throws -> (loss: Double, lr: Double) {
        let inputs = try model.prepare(batch)
        let act = try model.forward(inputs, dropoutSeed: seeds.dropout(step: index))
        model.params.zeroGrads()
        try model.backward(act)
        midStep?(index)
        let (lr, beta1) = schedule.values(at: index)
        try optimizer.step(lr: Float(lr), beta1: Float(beta1))
        let loss = Double(try model.device.readScalar(act.loss))
        guard loss.isFinite else {
            throw POYOError.nonFinite(
                "training diverged: loss is \(loss) at step \(index + 1) (lr \(lr)); try a lower --lr")
        }
        return (loss, lr)
    }
}
