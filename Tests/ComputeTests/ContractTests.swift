import Compute
import TestSupport
import Testing

/// Runs `backward` into zeroed `grads` once, then again: every backward op accumulates, so the
/// second call must double each gradient.
private func expectAccumulates(
    _ dev: any Device, _ what: String, _ grads: [Tensor], _ backward: () -> Void,
    sourceLocation: SourceLocation = #_sourceLocation
) throws {
    for g in grads { dev.fill(g, 0) }
    backward()
    let once = try grads.map { try dev.download($0) }
    backward()
    for (j, g) in grads.enumerated() {
        #expect(once[j].contains { $0 != 0 }, "\(what) gradient \(j) is all zero", sourceLocation: sourceLocation)
        expectClose(
            try dev.download(g), once[j].map { 2 * Double($0) }, tol: 1e-6,
            "\(what) gradient \(j): two calls must give twice one call", sourceLocation: sourceLocation)
    }
}

@Suite("backward ops accumulate; reductions are deterministic")
struct ContractTests {
    @Test("every backward op adds into its gradients (+=)", arguments: DeviceCase.all)
    func accumulate(_ dc: DeviceCase) throws {
        let dev = try dc.make()
        let (rows, d) = (50, 16)
        let y = try dev.tensor(randomFloats(rows * d, seed: 140), [rows, d])
        let dBias = try dev.zeros([d])
        try expectAccumulates(dev, "sumRows", [dBias]) { dev.sumRows(y, into: dBias) }

        let idx = try dev.indices(randomInts(rows, bound: 7, seed: 141))
        let dTable = try dev.zeros([7, d])
        try expectAccumulates(dev, "scatterAddRows", [dTable]) { dev.scatterAddRows(y, indices: idx, into: dTable) }

        let x = try dev.tensor(randomFloats(rows * d, seed: 142), [rows, d])
        let gamma = try dev.tensor(randomFloats(d, seed: 143).map { $0 + 1 }, [d])
        let beta = try dev.tensor(randomFloats(d, seed: 144), [d])
        let out = try dev.zeros([rows, d])
        let mean = try dev.zeros([rows])
        let rstd = try dev.zeros([rows])
        dev.layerNormForward(x: x, gamma: gamma, beta: beta, out: out, mean: mean, rstd: rstd, eps: 1e-5)
        let dX = try dev.zeros([rows, d])
        let dGamma = try dev.zeros([d])
        let dBeta = try dev.zeros([d])
        try expectAccumulates(dev, "layerNormBackward", [dX, dGamma, dBeta]) {
            dev.layerNormBackward(
                dOut: y, x: x, gamma: gamma, mean: mean, rstd: rstd, dX: dX, dGamma: dGamma, dBeta: dBeta)
        }

        let h = try dev.tensor(randomFloats(rows * 2 * d, seed: 145, scale: 2), [rows, 2 * d])
        let dH = try dev.zeros([rows, 2 * d])
        try expectAccumulates(dev, "gegluBackward", [dH]) { dev.gegluBackward(dOut: y, h: h, dH: dH) }

        let w = try dev.tensor(randomFloats(rows, seed: 146).map { $0 + 1 }, [rows])
        let dPred = try dev.zeros([rows, d])
        try expectAccumulates(dev, "weightedMSEBackward", [dPred]) {
            dev.weightedMSEBackward(pred: x, target: y, weights: w, dPred: dPred)
        }

        let p = AttentionProblem(
            windows: [(nq: 3, nk: 4), (nq: 2, nk: 2)], heads: 2, headDim: 8,
            dropout: DropoutSpec(p: 0.2, seed: 5), seed: 147)
        let qkv = try dev.tensor(p.qkv, [p.bufferRows, p.ld])
        let (q, k, v) = (qkv.columns(p.qCol, p.hd), qkv.columns(p.kCol, p.hd), qkv.columns(p.vCol, p.hd))
        let aOut = try dev.zeros([p.nq, p.hd])
        let lse = try dev.zeros([p.nq, p.heads])
        let qo = try dev.indices(p.queryOffsets)
        let ko = try dev.indices(p.keyOffsets)
        let scale = Float(p.scale)
        dev.attentionForward(
            q: q, k: k, v: v, out: aOut, lse: lse, queryOffsets: qo, keyOffsets: ko,
            heads: p.heads, headDim: p.headDim, scale: scale, dropout: p.dropout)
        let dOut = try dev.tensor(p.probe, [p.nq, p.hd])
        let dqkv = try dev.zeros([p.bufferRows, p.ld])
        try expectAccumulates(dev, "attentionBackward", [dqkv]) {
            dev.attentionBackward(
                dOut: dOut, q: q, k: k, v: v, out: aOut, lse: lse,
                dQ: dqkv.columns(p.qCol, p.hd), dK: dqkv.columns(p.kCol, p.hd), dV: dqkv.columns(p.vCol, p.hd),
                queryOffsets: qo, keyOffsets: ko, heads: p.heads, headDim: p.headDim,
                scale: scale, dropout: p.dropout)
        }
    }

    /// The three reductions that sum over rows, on inputs large enough to be split across workers.
    static func reductions(on dev: any Device) throws -> [[Float]] {
        let (rows, d, vocab) = (2000, 64, 13)
        let y = try dev.tensor(randomFloats(rows * d, seed: 150), [rows, d])
        let dBias = try dev.zeros([d])
        dev.sumRows(y, into: dBias)
        let idx = try dev.indices(randomInts(rows, bound: vocab, seed: 151))
        let dTable = try dev.zeros([vocab, d])
        dev.scatterAddRows(y, indices: idx, into: dTable)
        let x = try dev.tensor(randomFloats(rows * d, seed: 152, scale: 3), [rows, d])
        let gamma = try dev.tensor(randomFloats(d, seed: 153).map { $0 + 1 }, [d])
        let beta = try dev.zeros([d])
        let out = try dev.zeros([rows, d])
        let mean = try dev.zeros([rows])
        let rstd = try dev.zeros([rows])
        dev.layerNormForward(x: x, gamma: gamma, beta: beta, out: out, mean: mean, rstd: rstd, eps: 1e-5)
        let dX = try dev.zeros([rows, d])
        let dGamma = try dev.zeros([d])
        let dBeta = try dev.zeros([d])
        dev.layerNormBackward(dOut: y, x: x, gamma: gamma, mean: mean, rstd: rstd, dX: dX, dGamma: dGamma, dBeta: dBeta)
        return try [dBias, dTable, dX, dGamma, dBeta].map { try dev.download($0) }
    }

    static let reductionNames = ["sumRows", "scatterAddRows", "layerNorm dX", "layerNorm dGamma", "layerNorm dBeta"]

    @Test("sumRows, scatterAddRows, layerNormBackward: bitwise identical on a second run", arguments: DeviceCase.all)
    func deterministic(_ dc: DeviceCase) throws {
        let first = try Self.reductions(on: try dc.make())
        let second = try Self.reductions(on: try dc.make())
        for j in first.indices { expectBitwiseEqual(second[j], first[j], "\(Self.reductionNames[j]) run to run") }
    }

    @Test("CPUDevice: 1 and 4 threads agree (bitwise per thread count, close across)")
    func cpuThreadCounts() throws {
        let one = try Self.reductions(on: CPUDevice(threads: 1))
        let four = try Self.reductions(on: CPUDevice(threads: 4))
        let fourAgain = try Self.reductions(on: CPUDevice(threads: 4))
        for j in one.indices {
            expectBitwiseEqual(fourAgain[j], four[j], "\(Self.reductionNames[j]) with 4 threads, run to run")
            expectClose(four[j], one[j].map { Double($0) }, tol: 1e-6, "\(Self.reductionNames[j]): 4 threads vs 1")
        }
    }
}
