import Compute
import Foundation
import TestSupport
import Testing

/// OpenCL against the CPU backend on fresh random inputs at realistic shapes: the shared suite
/// checks each backend against float64 on small problems; this checks the two backends agree where
/// the kernels' loops, chunking and work-group splits are exercised at size.
@Suite("OpenCL vs CPU parity", .enabled(if: !DeviceCase.openCL.isEmpty))
struct OpenCLParityTests {
    /// Runs `body` on both devices and compares every array it returns, normwise.
    private func parity(
        _ what: String, tol: Double, sourceLocation: SourceLocation = #_sourceLocation,
        _ body: (any Device) throws -> [(String, [Float])]
    ) throws {
        let cpu = try body(CPUDevice(threads: 2))
        let ocl = try body(OpenCLDevice())
        for ((name, c0), (_, o0)) in zip(cpu, ocl) {
            // lse of a keyless window is −∞ on both: compare where they are, then the finite rest
            let infinite = c0.indices.filter { c0[$0].isInfinite || o0[$0].isInfinite }
            #expect(
                infinite.allSatisfy { c0[$0] == o0[$0] }, "\(what) \(name): infinities differ",
                sourceLocation: sourceLocation)
            let (c, o) = (c0.map { $0.isInfinite ? 0 : $0 }, o0.map { $0.isInfinite ? 0 : $0 })
            let cmp = compare(o, c)
            print("parity \(what) \(name): \(cmp)")
            #expect(cmp.error <= tol, "\(what) \(name): \(cmp) > \(tol)", sourceLocation: sourceLocation)
        }
    }

    @Test("attention 2 heads × 64: 128 queries over 600 keys in 4 windows, forward and backward, with dropout")
    func attention() throws {
        let p = AttentionProblem(
            windows: [(nq: 32, nk: 150), (nq: 40, nk: 170), (nq: 24, nk: 120), (nq: 32, nk: 160)],
            heads: 2, headDim: 64, dropout: DropoutSpec(p: 0.1, seed: 77), seed: 200)
        try parity("attention", tol: 1e-5) { dev in
            let r = try p.run(on: dev)
            return [
                ("out", r.out), ("lse", r.lse),
                ("dQ", r.dqkv.indices.filter { $0 % p.ld >= p.qCol && $0 % p.ld < p.kCol }.map { r.dqkv[$0] }),
                ("dK", r.dqkv.indices.filter { $0 % p.ld >= p.kCol && $0 % p.ld < p.vCol }.map { r.dqkv[$0] }),
                ("dV", r.dqkv.indices.filter { $0 % p.ld >= p.vCol && $0 % p.ld < p.vCol + p.hd }.map { r.dqkv[$0] }),
            ]
        }
    }

    @Test("attention edge cases: a single token, a window with no keys, one with no queries, no dropout")
    func attentionEdges() throws {
        for windows in [[(nq: 1, nk: 1)], [(nq: 3, nk: 0), (nq: 0, nk: 5), (nq: 1, nk: 2)]] {
            let p = AttentionProblem(windows: windows, heads: 3, headDim: 16, dropout: .none, seed: 201)
            try parity("attention \(windows.map { "\($0.nq)×\($0.nk)" })", tol: 1e-5) { dev in
                let r = try p.run(on: dev)
                return [("out", r.out), ("lse", r.lse), ("dqkv", r.dqkv)]
            }
        }
    }

    @Test("gemm, bias, layer norm, GEGLU, rotary, embeddings, loss, optimizers at model shapes")
    func layers() throws {
        let (n, d, f, vocab) = (1000, 64, 128, 300)
        try parity("layers", tol: 1e-5) { dev in
            var out: [(String, [Float])] = []
            let x = try dev.tensor(randomFloats(n * d, seed: 300, scale: 2), [n, d])
            let w = try dev.tensor(randomFloats(2 * f * d, seed: 301, scale: 0.2), [2 * f, d])
            let h = try dev.zeros([n, 2 * f])
            dev.gemm(
                transA: false, transB: true, m: n, n: 2 * f, k: d, alpha: 1, a: x.matrix, b: w.matrix, beta: 0,
                c: h.matrix)
            let bias = try dev.tensor(randomFloats(2 * f, seed: 302), [2 * f])
            dev.addBias(h, bias)
            out.append(("gemm+bias", try dev.download(h)))
            let g = try dev.zeros([n, f])
            dev.gegluForward(h: h, out: g)
            out.append(("geglu", try dev.download(g)))
            let dG = try dev.tensor(randomFloats(n * f, seed: 303), [n, f])
            let dH = try dev.zeros([n, 2 * f])
            dev.gegluBackward(dOut: dG, h: h, dH: dH)
            out.append(("geglu backward", try dev.download(dH)))
            let dW = try dev.zeros([2 * f, d])
            let dBias = try dev.zeros([2 * f])
            dev.gemm(
                transA: true, transB: false, m: 2 * f, n: d, k: n, alpha: 1, a: dH.matrix, b: x.matrix, beta: 1,
                c: dW.matrix)
            dev.sumRows(dH, into: dBias)
            out.append(("dW", try dev.download(dW)))
            out.append(("sumRows", try dev.download(dBias)))

            let gamma = try dev.tensor(randomFloats(d, seed: 304).map { $0 + 1 }, [d])
            let beta = try dev.tensor(randomFloats(d, seed: 305), [d])
            let y = try dev.zeros([n, d])
            let mean = try dev.zeros([n])
            let rstd = try dev.zeros([n])
            dev.layerNormForward(x: x, gamma: gamma, beta: beta, out: y, mean: mean, rstd: rstd, eps: 1e-5)
            out.append(("layerNorm", try dev.download(y)))
            let dY = try dev.tensor(randomFloats(n * d, seed: 306), [n, d])
            let dX = try dev.zeros([n, d])
            let dGamma = try dev.zeros([d])
            let dBeta = try dev.zeros([d])
            dev.layerNormBackward(
                dOut: dY, x: x, gamma: gamma, mean: mean, rstd: rstd, dX: dX, dGamma: dGamma, dBeta: dBeta)
            out.append(("layerNorm dX", try dev.download(dX)))
            out.append(("layerNorm dGamma", try dev.download(dGamma)))
            out.append(("layerNorm dBeta", try dev.download(dBeta)))

            let angles = randomFloats(n * 16, seed: 307, scale: 3)
            let cos = try dev.tensor(angles.map { Foundation.cos($0) }, [n, 16])
            let sin = try dev.tensor(angles.map { Foundation.sin($0) }, [n, 16])
            let qkv = try dev.tensor(randomFloats(n * 3 * d, seed: 308), [n, 3 * d])
            dev.rotary(qkv.columns(d, d), cos: cos, sin: sin, heads: 2, headDim: 32, inverse: false)
            out.append(("rotary", try dev.download(qkv)))

            let idx = try dev.indices(randomInts(n, bound: vocab, seed: 309))
            let table = try dev.tensor(randomFloats(vocab * d, seed: 310), [vocab, d])
            dev.gatherRows(table: table, indices: idx, out: y, accumulate: true)
            out.append(("gatherRows", try dev.download(y)))
            let dTable = try dev.zeros([vocab, d])
            dev.scatterAddRows(dY, indices: idx, into: dTable)
            out.append(("scatterAddRows", try dev.download(dTable)))

            var wts = randomFloats(n, seed: 311).map { max(0, $0) }
            wts[0] = 0
            let weights = try dev.tensor(wts, [n])
            let loss = try dev.zeros([1])
            let dPred = try dev.zeros([n, d])
            dev.weightedMSEForward(pred: x, target: dY, weights: weights, loss: loss)
            dev.weightedMSEBackward(pred: x, target: dY, weights: weights, dPred: dPred)
            out.append(("loss", try dev.download(loss)))
            out.append(("loss backward", try dev.download(dPred)))

            let norm = try dev.zeros([1])
            dev.sumOfSquares(x, into: norm, accumulate: false)
            out.append(("sumOfSquares", try dev.download(norm)))

            let m = try dev.zeros([vocab, d])
            let v = try dev.zeros([vocab, d])
            dev.lambStep(param: table, grad: dTable, m: m, v: v, sparseRows: true, LAMBParams(lr: 1e-2))
            out.append(("lamb", try dev.download(table)))
            let mw = try dev.zeros([2 * f, d])
            let vw = try dev.zeros([2 * f, d])
            dev.adamWStep(param: w, grad: dW, m: mw, v: vw, AdamWParams(lr: 1e-2, step: 3))
            out.append(("adamW", try dev.download(w)))
            return out
        }
    }
}
