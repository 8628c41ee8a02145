import Compute
import Foundation
import POYO
import POYOData
import TestSupport
import Testing

@Suite struct TrainerTests {
    @Test func sameSeedSameLosses() throws {
        let data = try Small.dataset()
        func run() throws -> [Double] {
            let t = try Small.session(data, options: Small.options())
            return try (0..<6).map { _ in try t.step().loss }
        }
        let a = try run()
        let b = try run()
        #expect(a == b, "losses differ between identical runs: \(a) vs \(b)")
        #expect(a.allSatisfy { $0.isFinite && $0 > 0 })
    }

    @Test func differentSeedDifferentLosses() throws {
        let data = try Small.dataset()
        let t1 = try Small.session(data, options: Small.options(seed: 1))
        let t2 = try Small.session(data, options: Small.options(seed: 2))
        #expect(try t1.step().loss != t2.step().loss)
    }

    /// Inside a step the only device→host read is the loss scalar.
    @Test func oneReadbackPerStep() throws {
        let data = try Small.dataset()
        let device = CPUDevice()
        let t = try Small.session(data, options: Small.options(), device: device)
        _ = try t.step()
        let before = device.readbackCount
        for _ in 1..<4 { _ = try t.step() }
        #expect(device.readbackCount - before == 3)
    }

    /// After the first step, a step of the same batch takes every tensor from the CPU pool: no
    /// memory from the system, so no page faults on fresh activations (issue 12).
    @Test func aSecondStepAllocatesNothingNew() throws {
        let data = try Small.dataset()
        let device = CPUDevice()
        let t = try Small.session(data, options: Small.options(), device: device)
        let batch = try t.tokenizer.batch((0..<4).map { WindowRequest(recording: $0 % 2, start: 1 + Double($0)) })
        _ = try t.stepper.step(batch, index: 0)
        let created = device.buffersCreated
        #expect(created > 0)
        for index in 1...2 { _ = try t.stepper.step(batch, index: index) }
        #expect(device.buffersCreated == created, "\(device.buffersCreated - created) new blocks in later steps")
    }

    /// Training on a fixed batch drives its loss down (the whole graph learns, not just biases).
    @Test func overfitsOneBatch() throws {
        let data = try Small.dataset()
        let m = try Small.model(data)
        let tok = try Tokenizer(
            recordings: data.recordings, unitVocabulary: m.unitVocab, sessionVocabulary: m.sessionVocab,
            config: TokenizerConfig(numLatentsPerStep: Small.config.numLatentsPerStep))
        let batch = try tok.batch([WindowRequest(recording: 0, start: 10), WindowRequest(recording: 1, start: 20)])
        let inputs = try m.prepare(batch)
        let opt = try AdamW(params: m.params, weightDecay: 0)
        var losses: [Float] = []
        for _ in 0..<40 {
            let a = try m.forward(inputs)
            losses.append(try m.device.readScalar(a.loss))
            m.params.zeroGrads()
            try m.backward(a)
            try opt.step(lr: 3e-3, beta1: nil)
        }
        #expect(losses.last! < 0.2 * losses.first!, "loss \(losses.first!) → \(losses.last!)")
    }

    /// LAMB's sparse tables: the padding row and rows of units absent from the batch do not move.
    @Test func lambLeavesUntouchedEmbeddingRows() throws {
        let data = try Small.dataset()
        let m = try Small.model(data)
        let tok = try Tokenizer(
            recordings: data.recordings, unitVocabulary: m.unitVocab, sessionVocabulary: m.sessionVocab,
            config: TokenizerConfig(numLatentsPerStep: Small.config.numLatentsPerStep))
        let batch = try tok.batch([WindowRequest(recording: 0, start: 10)])  // session 1's units are absent
        let before = try m.device.download(m.params.unitEmbedding.value)
        let opt = try LAMB(params: m.params)
        let a = try m.forward(try m.prepare(batch))
        m.params.zeroGrads()
        try m.backward(a)
        try opt.step(lr: 1e-2, beta1: 0.9)
        let after = try m.device.download(m.params.unitEmbedding.value)
        let d = Small.config.dim
        let used = Set(batch.inputUnitIndex.map(Int.init))
        for row in 0..<m.unitVocab.count {
            let same = before[(row * d)..<((row + 1) * d)] == after[(row * d)..<((row + 1) * d)]
            #expect(
                same == !used.contains(row),
                "unit_emb row \(row) (\(m.unitVocab.words[row])) used=\(used.contains(row))")
        }
    }

    @Test func validationProducesPerSessionR2() throws {
        let data = try Small.dataset()
        let t = try Small.session(data, options: Small.options())
        let v = try t.validate()
        #expect(Set(v.r2.keys) == Set(data.sessionIDs))
        #expect(v.mean.isFinite && v.windows > 0)
    }

    @Test func rejectsBadOptions() throws {
        let data = try Small.dataset()
        var o = Small.options()
        o.batchSize = 0
        #expect(throws: POYOError.self) { try Small.session(data, options: o) }
    }

    @Test func batchWithOutOfRangeIndexIsRejected() throws {
        let data = try Small.dataset()
        let m = try Small.model(data)
        var b = SyntheticBatch.make(
            config: Small.config, windows: 2, units: 3, spikesPerWindow: 5, outputsPerWindow: 4,
            unitVocabSize: m.unitVocab.count, sessionVocabSize: m.sessionVocab.count, seed: 1)
        b.inputUnitIndex[0] = Int32(m.unitVocab.count)
        #expect(throws: POYOError.self) { try m.prepare(b) }
        b.inputUnitIndex[0] = 0  // the padding row is never a real token
        #expect(throws: POYOError.self) { try m.prepare(b) }
    }
}
