import Compute
import DataParallel
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
    /// The masks of micro-batch `part` of `parts` at step `step`: the step's own with one part, so
    /// a run without gradient accumulation is unchanged; a hash of it and the part otherwise, so the
    /// masks depend on the part, never on which process runs it.
    public func dropout(step: Int, part: Int, of parts: Int) -> UInt64 {
        parts == 1 ? dropout(step: step) : DropoutMask.hash(dropout(step: step), UInt64(part))
    }
}

/// This process's micro-batches of one optimizer step: parts `first..<first + batches.count` of
/// `total`, in order.
public struct StepParts {
    public let batches: [Batch]
    public let first: Int
    public let total: Int

    public init(batches: [Batch], first: Int = 0, total: Int? = nil) {
        self.batches = batches
        self.first = first
        self.total = total ?? batches.count
    }

    /// Windows of all of this process's parts' inputs (for the progress line's tokens/s).
    public var inputCount: Int { batches.reduce(0) { $0 + $1.inputCount } }
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

    /// The other processes of a data-parallel job (nil: this process alone).
    public let collective: Collective?
    /// NCCL between the job's GPUs (`GPUExchange`); nil: gradients are summed through the host.
    public var gpuExchange: NCCLCommunicator?
    /// Per parameter, the sum of this process's micro-batch gradients (made at the first step with
    /// more than one micro-batch here). `[shape of the parameter]` each.
    private var accumulated: [Tensor] = []

    public init(
        model: POYOModel, optimizer: Optimizer, schedule: OneCycleSchedule, seeds: RunSeeds,
        collective: Collective? = nil
    ) {
        self.model = model
        self.optimizer = optimizer
        self.schedule = schedule
        self.seeds = seeds
        self.collective = collective
    }

    /// Runs optimizer step `index` (0-based) on `batch`; returns the loss and the learning rate used.
    public func step(_ batch: Batch, index: Int) throws -> (loss: Double, lr: Double) {
        try step(StepParts(batches: [batch]), index: index)
    }

    /// Runs optimizer step `index` on this process's micro-batches of the step's global batch.
    ///
    /// The loss of a batch is Σ w·err² / (d · Σw), so the global batch's gradient is the sum of
    /// each part's gradient weighted by its share of the batch's loss weight, W_k / W. Each part
    /// runs forward and backward alone, its gradient is scaled by its share and added to the
    /// parts before it, in part order; across processes the sums are added in rank order (each
    /// holds consecutive parts). With one part per process, or all parts in one process, every
    /// element is ((s₀g₀ + s₁g₁) + s₂g₂) + …, so both give the same bits.
    public func step(_ parts: StepParts, index: Int) throws -> (loss: Double, lr: Double) {
        let distributed = (collective?.size ?? 1) > 1
        guard parts.total > 1 || distributed else {
            return try wholeBatchStep(parts.batches[0], index: index)
        }
        // Every part's loss weight, in part order: this process's, then (jobs) everyone's.
        let localWeights = parts.batches.map { $0.weights.reduce(0.0) { $0 + Double($1) } }
        let weights = try collective.map { try $0.allGather(localWeights) } ?? localWeights
        guard weights.count == parts.total else {
            throw POYOError.batch("step \(index + 1): \(weights.count) micro-batches arrived, expected \(parts.total)")
        }
        let total = weights.reduce(0, +)
        var lossTensors: [Tensor] = []  // [1] each, read once all parts are queued
        for (j, batch) in parts.batches.enumerated() {
            let part = parts.first + j
            let inputs = try model.prepare(batch)
            let act = try model.forward(inputs, dropoutSeed: seeds.dropout(step: index, part: part, of: parts.total))
            model.params.zeroGrads()
            try model.backward(act)
            let share = total > 0 ? Float(weights[part] / total) : 0
            try accumulate(share: share, into: j, of: parts.batches.count)
            lossTensors.append(act.loss)
        }
        if let collective, distributed { try reduceGradients(collective) }
        midStep?(index)
        let localLosses = try lossTensors.map { Double(try model.device.readScalar($0)) }
        let losses = try collective.map { try $0.allGather(localLosses) } ?? localLosses
        var loss = 0.0
        for (l, w) in zip(losses, weights) where total > 0 { loss += l * (w / total) }
        return try update(index: index) { loss }
    }

    /// One batch forward and backward, then the update (the path of every run without parts).
    private func wholeBatchStep(_ batch: Batch, index: Int) throws -> (loss: Double, lr: Double) {
        let inputs = try model.prepare(batch)
        let act = try model.forward(inputs, dropoutSeed: seeds.dropout(step: index))
        model.params.zeroGrads()
        try model.backward(act)
        midStep?(index)
        return try update(index: index) { Double(try model.device.readScalar(act.loss)) }
    }

    /// The optimizer update of step `index` under the schedule, then the step's loss (read after
    /// the update is queued: the one host read of a step).
    private func update(index: Int, loss: () throws -> Double) throws -> (loss: Double, lr: Double) {
        let (lr, beta1) = schedule.values(at: index)
        try optimizer.step(lr: Float(lr), beta1: Float(beta1))
        let loss = try loss()
        guard loss.isFinite else {
            throw POYOError.nonFinite(
                "training diverged: loss is \(loss) at step \(index + 1) (lr \(lr)); try a lower --lr")
        }
        return (loss, lr)
    }

    /// Scales the gradients just computed by `share` and adds them to the earlier parts' (part
    /// `j` of this process's `count`); after the last, the sum is in the parameters' gradients.
    private func accumulate(share: Float, into j: Int, of count: Int) throws {
        let device = model.device
        let params = model.params.all
        for p in params { device.scale(p.grad, by: share) }
        guard count > 1 else { return }
        if accumulated.isEmpty {
            accumulated = try params.map { try device.makeTensor($0.shape, dtype: .float32) }
        }
        for (p, sum) in zip(params, accumulated) {
            if j == 0 { device.copy(p.grad, to: sum) } else { device.axpy(1, p.grad, sum) }
            if j == count - 1 { device.copy(sum, to: p.grad) }
        }
    }

    /// The gradient exchange of one step on its own (`poyo-bench reduce`): every process's
    /// gradients summed in rank order, left in the parameters' gradients.
    public func sumGradientsOverJob() throws {
        guard let collective else { return }
        try reduceGradients(collective)
    }

    /// Sums every process's gradients in rank order: on the GPUs through NCCL, else through the
    /// host, all parameters' gradients as one vector `[Σ parameter sizes]`, in `params.all` order.
    private func reduceGradients(_ collective: Collective) throws {
        let device = model.device
        let params = model.params.all
        if let gpuExchange {
            try gpuExchange.sumInRankOrder(params.map(\.grad))
            return
        }
        var flat: [Float] = []
        flat.reserveCapacity(params.reduce(0) { $0 + $1.grad.count })
        for p in params { flat += try device.download(p.grad) }
        try collective.sumInRankOrder(&flat)
        var at = 0
        for p in params {
            try device.write(Array(flat[at..<(at + p.grad.count)]), to: p.grad)
            at += p.grad.count
        }
    }
}
