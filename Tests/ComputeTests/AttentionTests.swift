import Compute
import Foundation
import TestSupport
import Testing

/// One varlen attention problem. q, k, v are column views of one padded qkv buffer
/// `[max(Nq, Nk), 3·H·Dh + 2]` (q at column 1, k at 1 + H·Dh, v at 1 + 2·H·Dh), and so are the
/// gradients in a dqkv buffer of the same layout, so strides, offsets and spills are all exercised.
struct AttentionProblem {
    let windows: [(nq: Int, nk: Int)]
    let heads: Int, headDim: Int
    let dropout: DropoutSpec
    let seed: UInt64

    var hd: Int { heads * headDim }
    var queryOffsets: [Int] { windows.reduce(into: [0]) { $0.append($0.last! + $1.nq) } }
    var keyOffsets: [Int] { windows.reduce(into: [0]) { $0.append($0.last! + $1.nk) } }
    var nq: Int { queryOffsets.last! }
    var nk: Int { keyOffsets.last! }
    var bufferRows: Int { max(nq, nk, 1) }
    var ld: Int { 3 * hd + 2 }
    var qCol: Int { 1 }
    var kCol: Int { 1 + hd }
    var vCol: Int { 1 + 2 * hd }
    var scale: Double { 1 / Double(headDim).squareRoot() }

    var qkv: [Float] { randomFloats(bufferRows * ld, seed: seed) }
    var probe: [Double] { randomFloats(nq * hd, seed: seed + 1).map { Double($0) } }  // dOut = ∂L/∂out

    /// Rows `0..<rows` of the `hd` columns at `col` of a `[bufferRows, ld]` buffer, densely.
    func block(_ buf: [Float], col: Int, rows: Int) -> [Double] {
        (0..<(rows * hd)).map { Double(buf[($0 / hd) * ld + col + $0 % hd]) }
    }

    /// Flat indices of the dqkv buffer that no gradient may touch.
    func isOutsideGradients(_ j: Int) -> Bool {
        let r = j / ld
        let c = j % ld
        if c >= qCol && c < qCol + hd { return r >= nq }
        if c >= kCol && c < vCol + hd { return r >= nk }
        return true
    }

    /// float64 forward on dense q ++ k ++ v.
    func reference(_ x: [Double]) -> (out: [Double], lse: [Double]) {
        let a = nq * hd
        let b = a + nk * hd
        return Ref.attention(
            q: Array(x[0..<a]), k: Array(x[a..<b]), v: Array(x[b...]),
            queryOffsets: queryOffsets, keyOffsets: keyOffsets,
            heads: heads, headDim: headDim, scale: scale, dropout: dropout)
    }

    var denseInputs: [Double] {
        let buf = qkv
        return block(buf, col: qCol, rows: nq) + block(buf, col: kCol, rows: nk) + block(buf, col: vCol, rows: nk)
    }

    struct Result {
        var out: [Float]
        var lse: [Float]
        var dqkv: [Float]
    }

    /// Forward, then backward with dOut = probe into a zeroed dqkv buffer.
    func run(on dev: any Device) throws -> Result {
        let qkvT = try dev.tensor(qkv, [bufferRows, ld])
        let q = qkvT.columns(qCol, hd)
        let k = qkvT.columns(kCol, hd)
        let v = qkvT.columns(vCol, hd)
        let out = try dev.tensor([Float](repeating: .nan, count: nq * hd), [nq, hd])
        let lse = try dev.tensor([Float](repeating: .nan, count: nq * heads), [nq, heads])
        let qo = try dev.indices(queryOffsets)
        let ko = try dev.indices(keyOffsets)
        dev.attentionForward(
            q: q, k: k, v: v, out: out, lse: lse, queryOffsets: qo, keyOffsets: ko,
            heads: heads, headDim: headDim, scale: Float(scale), dropout: dropout)
        let dOut = try dev.tensor(probe, [nq, hd])
        let dqkv = try dev.zeros([bufferRows, ld])
        dev.attentionBackward(
            dOut: dOut, q: q, k: k, v: v, out: out, lse: lse,
            dQ: dqkv.columns(qCol, hd), dK: dqkv.columns(kCol, hd), dV: dqkv.columns(vCol, hd),
            queryOffsets: qo, keyOffsets: ko, heads: heads, headDim: headDim,
            scale: Float(scale), dropout: dropout)
        return Result(out: try dev.download(out), lse: try dev.download(lse), dqkv: try dev.download(dqkv))
    }

    /// Checks forward against the float64 reference and the gradients against central differences
    /// of it (at `samplesPerTensor` random coordinates of each of q, k, v; all when nil).
    func check(
        on dev: any Device, samplesPerTensor: Int? = nil, forwardTol: Double = 1e-5, gradTol: Double = 2e-5,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        let name = "attention H\(heads) Dh\(headDim) windows \(windows.map { "\($0.nq)×\($0.nk)" }) p \(dropout.p)"
        let got = try run(on: dev)
        let x = denseInputs
        let ref = reference(x)
        expectClose(got.out, ref.out, tol: forwardTol, "\(name): out", sourceLocation: sourceLocation)
        // Rows of keyless windows have lse −∞ exactly; the rest are compared with the tolerance.
        let finite = ref.lse.indices.filter { ref.lse[$0].isFinite }
        expectClose(
            finite.map { got.lse[$0] }, finite.map { ref.lse[$0] }, tol: forwardTol, "\(name): lse",
            sourceLocation: sourceLocation)
        #expect(
            ref.lse.indices.filter { !ref.lse[$0].isFinite }.allSatisfy { got.lse[$0] == -.infinity },
            "\(name): lse of keyless windows must be −∞", sourceLocation: sourceLocation)

        let r = probe
        let sizes = [("dQ", qCol, nq), ("dK", kCol, nk), ("dV", vCol, nk)]
        var base = 0
        for (label, col, rows) in sizes {
            let count = rows * hd
            let local =
                samplesPerTensor.map { randomInts($0, bound: max(count, 1), seed: seed + UInt64(col)) }
                ?? Array(0..<count)
            let fd = count == 0 ? [] : numericGradient(x, at: local.map { $0 + base }) { dot(r, reference($0).out) }
            let analytic = block(got.dqkv, col: col, rows: rows)
            expectClose(
                count == 0 ? [] : local.map { Float(analytic[$0]) }, fd, tol: gradTol,
                "\(name): \(label) vs finite differences", sourceLocation: sourceLocation)
            base += count
        }
        let outside = got.dqkv.indices.filter(isOutsideGradients)
        #expect(
            outside.allSatisfy { got.dqkv[$0] == 0 },
            "\(name): gradients spilled outside the dQ/dK/dV views", sourceLocation: sourceLocation)
    }
}

@Suite("varlen attention")
struct AttentionTests {
    /// Windows of different sizes, one without queries, one with a single key.
    /// Key counts below, at and above the CPU kernels' 8-wide vectors, with tails.
    static let windows = [
        (nq: 3, nk: 5), (nq: 0, nk: 4), (nq: 2, nk: 1), (nq: 5, nk: 7), (nq: 4, nk: 19), (nq: 2, nk: 16),
    ]

    @Test("forward vs float64 softmax attention, backward vs finite differences", arguments: DeviceCase.all)
    func varlen(_ dc: DeviceCase) throws {
        let p = AttentionProblem(windows: Self.windows, heads: 2, headDim: 8, dropout: .none, seed: 80)
        try p.check(on: try dc.make())
    }

    @Test(
        "with dropout: forward uses DropoutMask.attentionIndex, backward matches the fixed-mask objective",
        arguments: DeviceCase.all)
    func varlenDropout(_ dc: DeviceCase) throws {
        let dev = try dc.make()
        let p = AttentionProblem(
            windows: Self.windows, heads: 2, headDim: 8, dropout: DropoutSpec(p: 0.25, seed: 1234), seed: 81)
        try p.check(on: dev)
        // The mask must actually bite: the output differs from attention without dropout.
        let plain = AttentionProblem(windows: Self.windows, heads: 2, headDim: 8, dropout: .none, seed: 81)
        let c = compare(try p.run(on: dev).out, plain.reference(plain.denseInputs).out.map { Float($0) })
        #expect(c.error > 1e-2, "dropout p = 0.25 left the output unchanged: \(c)")
    }

    @Test("head dim 64 (the POYO size), sampled finite differences", arguments: DeviceCase.all)
    func headDim64(_ dc: DeviceCase) throws {
        let p = AttentionProblem(
            windows: [(nq: 4, nk: 6), (nq: 0, nk: 2), (nq: 3, nk: 1)], heads: 2, headDim: 64,
            dropout: DropoutSpec(p: 0.1, seed: 9), seed: 82)
        try p.check(on: try dc.make(), samplesPerTensor: 40)
    }

    /// The GPU kernels work in tiles of 32 query (or key) rows that may span windows: windows of one
    /// token, without queries, without keys or empty, and odd sizes that straddle tile edges (37
    /// queries against 71 keys, 65 × 33), with dropout so the mask indexing crosses tiles too.
    @Test("tile edges: single tokens, empty windows, odd sizes across tiles", arguments: DeviceCase.all)
    func tileEdges(_ dc: DeviceCase) throws {
        let windows = [
            (nq: 1, nk: 1), (nq: 0, nk: 5), (nq: 37, nk: 71), (nq: 3, nk: 0), (nq: 0, nk: 0), (nq: 33, nk: 1),
            (nq: 1, nk: 40), (nq: 65, nk: 33),
        ]
        for (headDim, dropout) in [(8, DropoutSpec.none), (64, DropoutSpec(p: 0.2, seed: 77))] {
            let p = AttentionProblem(windows: windows, heads: 2, headDim: headDim, dropout: dropout, seed: 84)
            try p.check(on: try dc.make(), samplesPerTensor: 24)
        }
    }

    /// Behaviour of the CPU backend, which other backends must match: a window with queries but no
    /// keys outputs zeros with lse = −∞, and its backward adds nothing (and no NaN).
    @Test("a window with queries but no keys: zero output, lse −∞, no gradient", arguments: DeviceCase.all)
    func noKeys(_ dc: DeviceCase) throws {
        let dev = try dc.make()
        let p = AttentionProblem(
            windows: [(nq: 2, nk: 3), (nq: 2, nk: 0)], heads: 2, headDim: 8, dropout: .none, seed: 83)
        let got = try p.run(on: dev)
        #expect(got.out[(2 * p.hd)...].allSatisfy { $0 == 0 }, "rows of the keyless window must be 0")
        #expect(
            got.lse[(2 * p.heads)...].allSatisfy { $0 == -.infinity },
            "lse of the keyless window: \(Array(got.lse[(2 * p.heads)...]))")
        #expect(got.dqkv.allSatisfy { $0.isFinite }, "NaN/Inf in the gradients")
        let dq = p.block(got.dqkv, col: p.qCol, rows: p.nq)
        #expect(dq[(2 * p.hd)...].allSatisfy { $0 == 0 }, "keyless queries must get no gradient")
        let ref = p.reference(p.denseInputs)
        expectClose(Array(got.out[..<(2 * p.hd)]), Array(ref.out[..<(2 * p.hd)]), tol: 1e-5, "first window out")
    }
}
