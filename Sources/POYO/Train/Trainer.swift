import Compute
import Foundation
import POYOData

/// One logged training step.
public struct StepReport: Sendable {
    public var step: Int          // 1-based
    public var totalSteps: Int
    public var loss: Double
    public var lr: Double
    public var msPerStep: Double
    public var tokensPerSecond: Double
    public var epoch: Int
}

/// Trains a POYO model on a dataset: random 1 s windows, unit dropout, packed batches,
/// LAMB (or AdamW) under OneCycle, periodic validation. The only host read inside a step is the loss.
public final class Trainer {
    public let model: POYOModel
    public let tokenizer: Tokenizer
    public let options: TrainOptions
    public let schedule: OneCycleSchedule
    let optimizer: Optimizer
    private var sampler: RandomFixedWindowSampler
    private var epochWindows: [SampledWindow] = []
    private var cursor = 0
    private(set) var epoch = 0
    private var rng: SeededRNG

    public init(model: POYOModel, recordings: [Recording], options: TrainOptions) throws {
        try options.validate()
        self.model = model
        self.options = options
        tokenizer = try Tokenizer(recordings: recordings, unitVocabulary: model.unitVocab, sessionVocabulary: model.sessionVocab,
                                  config: TokenizerConfig(sequenceLength: model.config.sequenceLength,
                                                          latentStep: model.config.latentStep,
                                                          numLatentsPerStep: model.config.numLatentsPerStep))
        sampler = RandomFixedWindowSampler(intervals: recordings.map(\.trainDomain), windowLength: model.config.sequenceLength)
        guard sampler.estimatedCount >= 1 else {
            throw POYOError.batch("no training interval of at least \(model.config.sequenceLength) s in \(recordings.map(\.sessionID).joined(separator: ", "))")
        }
        schedule = OneCycleSchedule(maxLR: options.maxLR, totalSteps: options.steps, pctStart: options.lrDecayStart)
        switch options.optimizer {
        case .lamb: optimizer = try LAMB(params: model.params, weightDecay: Float(options.weightDecay))
        case .adamw: optimizer = try AdamW(params: model.params, weightDecay: Float(options.weightDecay))
        }
        rng = SeededRNG(seed: options.seed ^ 0x5EED_0F_DA7A)
    }

    /// The next `batchSize` windows; a new shuffled epoch starts when one runs out (drop_last).
    private func nextWindows() -> [WindowRequest] {
        var out: [WindowRequest] = []
        while out.count < options.batchSize {
            if cursor >= epochWindows.count {
                epochWindows = sampler.windows(seed: options.seed, epoch: epoch)
                epoch += 1
                cursor = 0
                if epochWindows.isEmpty { break }
            }
            let w = epochWindows[cursor]
            cursor += 1
            let units = tokenizer.recordings[w.recording].unitCount
            let kept = options.unitDropout.map { $0.keptUnits(unitCount: units, rng: &rng) }
            out.append(WindowRequest(recording: w.recording, start: w.start, keptUnits: kept))
        }
        return out
    }

    /// Runs one optimizer step (0-based `step`) and returns its report.
    public func step(_ step: Int) throws -> StepReport {
        let t0 = DispatchTime.now().uptimeNanoseconds
        let batch = try tokenizer.batch(nextWindows())
        let inputs = try model.prepare(batch)
        let act = try model.forward(inputs, dropoutSeed: DropoutMask.hash(options.seed, UInt64(step)))
        model.params.zeroGrads()
        try model.backward(act)
        let (lr, beta1) = schedule.values(at: step)
        try optimizer.step(lr: Float(lr), beta1: Float(beta1))
        let loss = Double(try model.device.readScalar(act.loss))
        guard loss.isFinite else {
            throw POYOError.nonFinite("training diverged: loss is \(loss) at step \(step + 1) (lr \(lr)); try a lower --lr")
        }
        let ms = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6
        return StepReport(step: step + 1, totalSteps: options.steps, loss: loss, lr: lr, msPerStep: ms,
                          tokensPerSecond: Double(batch.inputCount) / (ms / 1000), epoch: max(epoch, 1))
    }

    public func validate(split: Split = .valid) throws -> EvaluationResult {
        try Evaluator.evaluate(model: model, tokenizer: tokenizer, split: split, batchSize: options.evalBatchSize)
    }
}
