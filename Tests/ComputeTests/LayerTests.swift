import Compute
import Foundation
import TestSupport
import Testing

@Suite("layer norm, GEGLU, rotary, loss")
struct LayerTests {
    @Test("layerNorm forward and backward (dX, dGamma, dBeta) against float64", arguments: DeviceCase.all)
    func layerNorm(_ dc: DeviceCase) throws {
        let dev = try dc.make()
        let (rows, d, eps) = (70, 27, 1e-5)  // three 8-wide vectors and a tail of 3 on the CPU
        let (xf, _) = randomPair(rows * d, seed: 40, scale: 2)
        let xs = xf.map { $0 + 0.5 }
        let xd = xs.map { Double($0) }
        let (gf0, _) = randomPair(d, seed: 41, scale: 0.5)
        let gf = gf0.map { $0 + 1 }
        let gd = gf.map { Double($0) }
        let (bf, bd) = randomPair(d, seed: 42)
        let x = try dev.tensor(xs, [rows, d])
        let gamma = try dev.tensor(gf, [d])
        let beta = try dev.tensor(bf, [d])
        let out = try dev.zeros([rows, d])
        let mean = try dev.zeros([rows])
        let rstd = try dev.zeros([rows])
        dev.layerNormForward(x: x, gamma: gamma, beta: beta, out: out, mean: mean, rstd: rstd, eps: Float(eps))
        let ref = Ref.layerNorm(x: xd, gamma: gd, beta: bd, rows: rows, d: d, eps: eps)
        expectClose(try dev.download(out), ref.out, tol: 2e-6, "layerNorm out")
        expectClose(try dev.download(mean), ref.mean, tol: 1e-6, "layerNorm mean")
        expectClose(try dev.download(rstd), ref.rstd, tol: 2e-6, "layerNorm rstd")

        // L = Σ r ⊙ out; its gradients by central differences of the float64 forward.
        let (rf, rd) = randomPair(rows * d, seed: 43)
        let dOut = try dev.tensor(rf, [rows, d])
        let dX = try dev.zeros([rows, d])
        let dGamma = try dev.zeros([d])
        let dBeta = try dev.zeros([d])
        dev.layerNormBackward(
            dOut: dOut, x: x, gamma: gamma, mean: mean, rstd: rstd, dX: dX, dGamma: dGamma, dBeta: dBeta)
        let sampled = randomInts(300, bound: rows * d, seed: 44)
        let fdX = numericGradient(xd, at: sampled) {
            dot(rd, Ref.layerNorm(x: $0, gamma: gd, beta: bd, rows: rows, d: d, eps: eps).out)
        }
        let fdG = numericGradient(gd) {
            dot(rd, Ref.layerNorm(x: xd, gamma: $0, beta: bd, rows: rows, d: d, eps: eps).out)
        }
        let fdB = numericGradient(bd) {
            dot(rd, Ref.layerNorm(x: xd, gamma: gd, beta: $0, rows: rows, d: d, eps: eps).out)
        }
        let gotX = try dev.download(dX)
        expectClose(sampled.map { gotX[$0] }, fdX, tol: 1e-5, "layerNorm dX (300 sampled elements)")
        expectClose(try dev.download(dGamma), fdG, tol: 1e-5, "layerNorm dGamma")
        expectClose(try dev.download(dBeta), fdB, tol: 1e-5, "layerNorm dBeta")
    }

    @Test("GEGLU forward and backward against float64", arguments: DeviceCase.all)
    func geglu(_ dc: DeviceCase) throws {
        let dev = try dc.make()
        let (rows, f) = (70, 10)
        let (hf, hd) = randomPair(rows * 2 * f, seed: 50, scale: 3)  // g covers the GELU tails
        let h = try dev.tensor(hf, [rows, 2 * f])
        let out = try dev.tensor([Float](repeating: .nan, count: rows * f), [rows, f])
        dev.gegluForward(h: h, out: out)
        expectClose(try dev.download(out), Ref.geglu(h: hd, rows: rows, f: f), tol: 2e-6, "gegluForward")

        let (rf, rd) = randomPair(rows * f, seed: 51)
        let dOut = try dev.tensor(rf, [rows, f])
        let dH = try dev.zeros([rows, 2 * f])
        dev.gegluBackward(dOut: dOut, h: h, dH: dH)
        let fd = numericGradient(hd) { dot(rd, Ref.geglu(h: $0, rows: rows, f: f)) }
        let got = try dev.download(dH)
        let aIdx = got.indices.filter { $0 % (2 * f) < f }
        let gIdx = got.indices.filter { $0 % (2 * f) >= f }
        expectClose(aIdx.map { got[$0] }, aIdx.map { fd[$0] }, tol: 1e-5, "gegluBackward d(a half)")
        expectClose(gIdx.map { got[$0] }, gIdx.map { fd[$0] }, tol: 1e-5, "gegluBackward d(g half)")
    }

    @Test(
        "rotary on a column view: first P pairs of each head, inverse undoes it and is its transpose",
        arguments: DeviceCase.all)
    func rotary(_ dc: DeviceCase) throws {
        let dev = try dc.make()
        // Pairs 0–3 of each head turn as one 8-wide vector on the CPU, pair 4 alone; pair 5 stays put.
        let (rows, heads, headDim, pairs) = (260, 2, 12, 5)
        let hdim = heads * headDim
        let ld = 3 * hdim + 3
        let offset = hdim + 1  // the k block of a padded qkv row
        let angles = randomFloats(rows * pairs, seed: 60, scale: 3.1)
        let cf = angles.map { Float(Foundation.cos(Double($0))) }
        let sf = angles.map { Float(Foundation.sin(Double($0))) }
        let cos = try dev.tensor(cf, [rows, pairs])
        let sin = try dev.tensor(sf, [rows, pairs])
        let (xf, xd) = randomPair(rows * ld, seed: 61)
        let x = try dev.tensor(xf, [rows, ld])
        let view = x.columns(offset, hdim)
        #expect(view.offset == offset && view.ld == ld && view.width == hdim)

        dev.rotary(view, cos: cos, sin: sin, heads: heads, headDim: headDim, inverse: false)
        let rotated = try dev.download(x)
        let ref = Ref.rotary(
            xd, offset: offset, ld: ld, rows: rows, cos: cf.map { Double($0) }, sin: sf.map { Double($0) },
            pairs: pairs, heads: heads, headDim: headDim, inverse: false)
        expectClose(rotated, ref, tol: 1e-6, "rotary forward")
        let fixed = xf.indices.filter { j in
            let c = j % ld - offset
            return !(c >= 0 && c < hdim && c % headDim < 2 * pairs)
        }
        expectBitwiseEqual(
            fixed.map { rotated[$0] }, fixed.map { xf[$0] },
            "rotary must leave unrotated pairs and columns outside the view untouched")

        dev.rotary(view, cos: cos, sin: sin, heads: heads, headDim: headDim, inverse: true)
        expectClose(try dev.download(x), xd, tol: 1e-6, "rotary inverse ∘ forward = identity")

        // ⟨R a, b⟩ = ⟨a, R⁻¹ b⟩: the inverse is the transpose (so it is the backward).
        let (bf, bd) = randomPair(rows * ld, seed: 62)
        let a = try dev.tensor(xf, [rows, ld])
        let b = try dev.tensor(bf, [rows, ld])
        dev.rotary(a.columns(offset, hdim), cos: cos, sin: sin, heads: heads, headDim: headDim, inverse: false)
        dev.rotary(b.columns(offset, hdim), cos: cos, sin: sin, heads: heads, headDim: headDim, inverse: true)
        let lhs = dot(try dev.download(a).map { Double($0) }, bd)
        let rhs = dot(xd, try dev.download(b).map { Double($0) })
        #expect(abs(lhs - rhs) <= 1e-5 * abs(lhs), "⟨R a, b⟩ = \(lhs) but ⟨a, R⁻¹ b⟩ = \(rhs)")
    }

    @Test("weightedMSE: forward, backward, weight-0 rows with NaN targets, Σw = 0", arguments: DeviceCase.all)
    func weightedMSE(_ dc: DeviceCase) throws {
        let dev = try dc.make()
        let (n, d) = (8, 3)
        let wd: [Double] = [1, 0.5, 0, 2, 5, 0, 0.1, 1]
        let (pf, pd) = randomPair(n * d, seed: 70, scale: 2)
        var (tf, td) = randomPair(n * d, seed: 71, scale: 2)
        for r in [2, 5] {
            for j in 0..<d {
                tf[r * d + j] = .nan
                td[r * d + j] = .nan
            }
        }
        let pred = try dev.tensor(pf, [n, d])
        let target = try dev.tensor(tf, [n, d])
        let weights = try dev.tensor(wd, [n])
        let loss = try dev.tensor([Float(123)], [1])
        dev.weightedMSEForward(pred: pred, target: target, weights: weights, loss: loss)
        let refLoss = Ref.weightedMSE(pred: pd, target: td, weights: wd, d: d)
        expectClose(try dev.download(loss), [refLoss], tol: 1e-6, "weightedMSE loss (NaN targets at weight 0)")

        let dPred = try dev.zeros([n, d])
        dev.weightedMSEBackward(pred: pred, target: target, weights: weights, dPred: dPred)
        let got = try dev.download(dPred)
        let fd = numericGradient(pd) { Ref.weightedMSE(pred: $0, target: td, weights: wd, d: d) }
        expectClose(got, fd, tol: 1e-6, "weightedMSE dPred")
        #expect(got.allSatisfy { $0.isFinite }, "dPred must be finite")
        #expect(
            [2, 5].allSatisfy { r in (0..<d).allSatisfy { got[r * d + $0] == 0 } }, "weight-0 rows get zero gradient")

        // Σw = 0: loss 0 and no gradient, even with NaN targets.
        let zeroW = try dev.zeros([n])
        dev.weightedMSEForward(pred: pred, target: target, weights: zeroW, loss: loss)
        #expect(try dev.download(loss) == [0], "Σw = 0 gives loss 0")
        let (gf, _) = randomPair(n * d, seed: 72)
        let dPred0 = try dev.tensor(gf, [n, d])
        dev.weightedMSEBackward(pred: pred, target: target, weights: zeroW, dPred: dPred0)
        expectBitwiseEqual(try dev.download(dPred0), gf, "Σw = 0 adds nothing to dPred")
    }
}
