import Compute
import Foundation
import POYOData
import TestSupport
import Testing

@testable import POYO

/// Gradient accumulation (`grad_accum`): micro-batches whose gradients, weighted by their share
/// of the loss weight, add up to the whole batch's.
@Suite struct GradAccumTests {
    /// A session of the small model without dropout (so parts and whole see the same network).
    static func session(_ data: Dataset) throws -> TrainingSession {
        var config = Small.config
        config.ffnDropout = 0
        config.linDropout = 0
        config.atnDropout = 0
        var options = Small.options()
        options.optimizer = .adamw
        return try TrainingSession(
            config: ConfigFile(model: config, train: options), data: data, dataDescription: "small synthetic",
            device: CPUDevice(), folder: try makeTempDirectory("grad-accum"))
    }

    static func gradients(_ t: TrainingSession) throws -> [Float] {
        try t.model.params.all.flatMap { try t.device.download($0.grad) }
    }

    @Test func partsAddUpToTheWholeBatch() throws {
        let data = try Small.dataset()
        let whole = try Self.session(data)
        let split = try Self.session(data)
        let requests = (0..<4).map { WindowRequest(recording: $0 % 2, start: 1 + 1.7 * Double($0)) }
        let (wholeLoss, _) = try whole.stepper.step(try whole.tokenizer.batch(requests), index: 0)
        // Parts of unequal size and loss weight: 1 window, then 3.
        let parts = StepParts(batches: [
            try split.tokenizer.batch(Array(requests[..<1])), try split.tokenizer.batch(Array(requests[1...])),
        ])
        let (splitLoss, _) = try split.stepper.step(parts, index: 0)
        #expect(abs(splitLoss - wholeLoss) <= 1e-6 * abs(wholeLoss), "loss \(splitLoss) vs \(wholeLoss)")
        let a = try Self.gradients(whole)
        let b = try Self.gradients(split)
        let scale = a.map(abs).max() ?? 0
        let worst = zip(a, b).map { abs($0 - $1) }.max() ?? 0
        #expect(scale > 0 && worst <= 1e-5 * scale, "largest gradient difference \(worst), largest gradient \(scale)")
    }

    @Test func splitsTheBatchIntoContiguousParts() throws {
        let data = try Small.dataset()
        var options = Small.options()
        options.batchSize = 7
        options.gradAccum = 3
        let t = try TrainingSession(
            config: ConfigFile(model: Small.config, train: options), data: data, dataDescription: "small synthetic",
            device: CPUDevice(), folder: try makeTempDirectory("grad-accum"))
        let requests = (0..<7).map { WindowRequest(recording: 0, start: Double($0)) }
        #expect(t.localPartRequests(requests).map { $0.map(\.start) } == [[0, 1], [2, 3], [4, 5, 6]])
    }

    @Test func theConfigKeyIsReadWrittenAndChecked() throws {
        let cfg = try ConfigFile.parse(yaml: "batch_size: 8\ngrad_accum: 4\n", path: "/x/c.yaml")
        #expect(cfg.train.gradAccum == 4)
        #expect(cfg.yaml().contains("grad_accum: 4"))
        #expect(!ConfigFile().yaml().contains("grad_accum"))
        for bad in ["grad_accum: 0", "batch_size: 2\ngrad_accum: 3"] {
            let text = (try? ConfigFile.parse(yaml: bad, path: "/x/c.yaml").train.validate()).map { "accepted" }
            #expect(text == nil, "\(bad) was accepted")
        }
    }
}
