import Compute
import POYOData

/// A batch on the device: index tensors, offsets and rotary tables for the three token sets.
public final class BatchTensors {
    public let windowCount: Int
    let input: TokenSet  // N_in spike/START/END tokens
    let latent: TokenSet  // B·N_lat latents
    let output: TokenSet  // N_out queries
    let unitIndex: Tensor  // [N_in] Int32
    let tokenType: Tensor  // [N_in] Int32
    let latentIndex: Tensor  // [B·N_lat] Int32
    let outputSession: Tensor  // [N_out] Int32 session row per query
    let targets: Tensor  // [N_out, dim_out]
    let weights: Tensor  // [N_out]

    init(_ b: Batch, config: POYOConfig, omega: [Float], device: Device, unitVocabSize: Int, sessionVocabSize: Int)
        throws
    {
        try BatchTensors.validate(b, config: config, unitVocabSize: unitVocabSize, sessionVocabSize: sessionVocabSize)
        windowCount = b.windowCount
        let nLat = b.latentsPerWindow
        let B = b.windowCount
        func table(_ times: [Double], repeats: Int = 1) throws -> RotaryTensors {
            let (c, s) = RotaryTables.tables(times: times, omega: omega, repeats: repeats)
            return RotaryTensors(
                cos: try device.upload(c, shape: [repeats * times.count, omega.count]),
                sin: try device.upload(s, shape: [repeats * times.count, omega.count]))
        }
        input = TokenSet(
            rows: b.inputCount, offsets: try device.upload(b.inputOffsets, shape: [B + 1]),
            rotary: try table(b.inputTimestamps))
        var latentIds: [Int32] = []
        latentIds.reserveCapacity(B * nLat)
        for _ in 0..<B { latentIds += b.latentIndex }
        latent = TokenSet(
            rows: B * nLat, offsets: try device.upload((0...B).map { Int32($0 * nLat) }, shape: [B + 1]),
            rotary: try table(b.latentTimestamps, repeats: B))
        output = TokenSet(
            rows: b.outputCount, offsets: try device.upload(b.outputOffsets, shape: [B + 1]),
            rotary: try table(b.outputTimestamps))
        unitIndex = try device.upload(b.inputUnitIndex, shape: [b.inputCount])
        tokenType = try device.upload(b.inputTokenType, shape: [b.inputCount])
        latentIndex = try device.upload(latentIds, shape: [B * nLat])
        let window = b.outputWindow
        outputSession = try device.upload(window.map { b.sessionIndex[Int($0)] }, shape: [b.outputCount])
        targets = try device.upload(b.targets, shape: [b.outputCount, b.dimOut])
        weights = try device.upload(b.weights, shape: [b.outputCount])
    }

    /// Every index in range and every offset consistent, so device ops never read out of bounds.
    static func validate(_ b: Batch, config c: POYOConfig, unitVocabSize: Int, sessionVocabSize: Int) throws {
        func fail(_ s: String) -> POYOError { .batch(s) }
        let B = b.windowCount
        guard B > 0 else { throw fail("no windows") }
        guard b.inputOffsets.count == B + 1, b.outputOffsets.count == B + 1, b.sessionIndex.count == B else {
            throw fail("offset arrays must have B+1 entries and sessionIndex B")
        }
        func checkOffsets(_ o: [Int32], total: Int, _ what: String) throws {
            guard o.first == 0, Int(o.last!) == total else { throw fail("\(what) offsets must run from 0 to \(total)") }
            for j in 0..<B where o[j] > o[j + 1] { throw fail("\(what) offsets decrease at window \(j)") }
        }
        try checkOffsets(b.inputOffsets, total: b.inputCount, "input")
        try checkOffsets(b.outputOffsets, total: b.outputCount, "output")
        guard b.inputTokenType.count == b.inputCount, b.inputTimestamps.count == b.inputCount else {
            throw fail("input arrays differ in length")
        }
        guard b.dimOut == c.dimOut, b.targets.count == b.outputCount * c.dimOut, b.weights.count == b.outputCount else {
            throw fail("targets must be [N_out, \(c.dimOut)] and weights [N_out]")
        }
        guard b.latentIndex.count == c.latentsPerWindow, b.latentTimestamps.count == c.latentsPerWindow else {
            throw fail("expected \(c.latentsPerWindow) latents per window, got \(b.latentIndex.count)")
        }
        for u in b.inputUnitIndex where u < 1 || Int(u) >= unitVocabSize {
            throw fail("unit index \(u) outside the unit vocabulary (1..<\(unitVocabSize))")
        }
        for t in b.inputTokenType where t < 0 || t > 3 { throw fail("token type \(t) is not 0...3") }
        for l in b.latentIndex where l < 0 || Int(l) >= c.numLatentsPerStep {
            throw fail("latent id \(l) out of range")
        }
        for s in b.sessionIndex where s < 1 || Int(s) >= sessionVocabSize {
            throw fail("session index \(s) outside the session vocabulary (1..<\(sessionVocabSize))")
        }
        for t in b.inputTimestamps where !t.isFinite { throw fail("non-finite input timestamp") }
        for t in b.outputTimestamps where !t.isFinite { throw fail("non-finite output timestamp") }
        for w in b.weights where !(w.isFinite && w >= 0) { throw fail("loss weights must be finite and ≥ 0") }
        for (j, y) in b.targets.enumerated() where !y.isFinite && b.weights[j / c.dimOut] != 0 {
            throw fail("non-finite target with non-zero weight at query \(j / c.dimOut)")
        }
    }
}
