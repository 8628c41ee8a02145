import Compute
import Foundation
import POYO

/// The ops of one training step at the shapes a config and batch produce.
enum KernelCases {
    static func all(config c: POYOConfig, batch B: Int, tokensPerWindow: Int) -> [OpCase] {
        let d = c.dim
        let nIn = B * tokensPerWindow
        let lat = c.latentsPerWindow
        let nLat = B * lat
        let nOut = B * 100
        let ci = c.crossInner
        let si = c.selfInner
        let dh = c.dimHead
        var cases: [OpCase] = []

        func gemm(_ name: String, m: Int, n: Int, k: Int, transA: Bool = false, transB: Bool = true) {
            cases.append(
                OpCase(
                    name: name, shape: "\(m)x\(n)x\(k)\(transA ? " Aᵀ" : "")\(transB ? " Bᵀ" : "")",
                    flops: 2 * Double(m * n * k), bytes: 4 * Double(m * k + k * n + m * n)
                ) { dev in
                    let a = try dev.upload(randomValues(m * k, seed: 1), shape: transA ? [k, m] : [m, k])
                    let b = try dev.upload(randomValues(k * n, seed: 2), shape: transB ? [n, k] : [k, n])
                    let out = try dev.makeTensor([m, n], dtype: .float32)
                    return (
                        {
                            dev.gemm(
                                transA: transA, transB: transB, m: m, n: n, k: k, alpha: 1, a: a.matrix, b: b.matrix,
                                beta: 0, c: out.matrix)
                        }, { try dev.download(out) }
                    )
                })
        }
        gemm("linear enc.to_kv", m: nIn, n: 2 * ci, k: d)
        gemm("linear proc.to_qkv", m: nLat, n: 3 * si, k: d)
        gemm("linear proc.to_qkv dW", m: 3 * si, n: d, k: nLat, transA: true, transB: false)
        gemm("linear ffn.up", m: nLat, n: 8 * d, k: d)
        gemm("linear ffn.down", m: nLat, n: d, k: 4 * d)

        func attention(_ name: String, nq: Int, nk: Int, heads: Int, backward: Bool) {
            let flopsFwd = 4 * Double(B * nq * nk * dh * heads)
            cases.append(
                OpCase(
                    name: "attention \(name)\(backward ? " bwd" : " fwd")",
                    shape: "\(B)x[\(nq)q x \(nk)k] h\(heads)",
                    flops: backward ? 2.5 * flopsFwd : flopsFwd,
                    bytes: 4 * Double(B * (nq + 2 * nk) * heads * dh)
                ) { dev in
                    let w = heads * dh
                    let q = try dev.upload(randomValues(B * nq * w, seed: 3), shape: [B * nq, w])
                    let k = try dev.upload(randomValues(B * nk * w, seed: 4), shape: [B * nk, w])
                    let v = try dev.upload(randomValues(B * nk * w, seed: 5), shape: [B * nk, w])
                    let qo = try dev.upload((0...B).map { Int32($0 * nq) }, shape: [B + 1])
                    let ko = try dev.upload((0...B).map { Int32($0 * nk) }, shape: [B + 1])
                    let out = try dev.makeTensor([B * nq, w], dtype: .float32)
                    let lse = try dev.makeTensor([B * nq, heads], dtype: .float32)
                    let drop = DropoutSpec(p: c.atnDropout, seed: 11)
                    let scale = 1 / Float(dh).squareRoot()
                    let fwd = {
                        dev.attentionForward(
                            q: q.matrix, k: k.matrix, v: v.matrix, out: out, lse: lse, queryOffsets: qo, keyOffsets: ko,
                            heads: heads, headDim: dh, scale: scale, dropout: drop)
                    }
                    guard backward else { return (fwd, { try dev.download(out) }) }
                    fwd()
                    let g = try dev.upload(randomValues(B * nq * w, seed: 6), shape: [B * nq, w])
                    let dq = try dev.makeTensor([B * nq, w], dtype: .float32)
                    let dk = try dev.makeTensor([B * nk, w], dtype: .float32)
                    let dv = try dev.makeTensor([B * nk, w], dtype: .float32)
                    return (
                        {
                            dev.attentionBackward(
                                dOut: g, q: q.matrix, k: k.matrix, v: v.matrix, out: out, lse: lse, dQ: dq.matrix,
                                dK: dk.matrix,
                                dV: dv.matrix, queryOffsets: qo, keyOffsets: ko, heads: heads, headDim: dh,
                                scale: scale, dropout: drop)
                        }, { try dev.download(dq) + dev.download(dk) + dev.download(dv) }
                    )
                })
        }
        for bwd in [false, true] {
            attention("enc", nq: lat, nk: tokensPerWindow, heads: c.crossHeads, backward: bwd)
            attention("self", nq: lat, nk: lat, heads: c.selfHeads, backward: bwd)
            attention("dec", nq: 100, nk: lat, heads: c.crossHeads, backward: bwd)
        }

        func rows(
            _ name: String, n: Int, width: Int, bytesPerElement: Double,
            _ make: @escaping (Device, Int, Int) throws -> (() -> Void, () throws -> [Float])
        ) {
            cases.append(
                OpCase(name: name, shape: "\(n)x\(width)", flops: 0, bytes: bytesPerElement * Double(n * width)) {
                    dev in
                    try make(dev, n, width)
                })
        }
        rows("layernorm fwd", n: nIn, width: d, bytesPerElement: 8) { dev, n, w in
            let x = try dev.upload(randomValues(n * w, seed: 7), shape: [n, w])
            let g = try dev.upload(randomValues(w, seed: 8), shape: [w])
            let b = try dev.upload(randomValues(w, seed: 9), shape: [w])
            let out = try dev.makeTensor([n, w], dtype: .float32)
            let mean = try dev.makeTensor([n], dtype: .float32)
            let rstd = try dev.makeTensor([n], dtype: .float32)
            return (
                { dev.layerNormForward(x: x, gamma: g, beta: b, out: out, mean: mean, rstd: rstd, eps: 1e-5) },
                { try dev.download(out) }
            )
        }
        rows("layernorm bwd", n: nIn, width: d, bytesPerElement: 12) { dev, n, w in
            let x = try dev.upload(randomValues(n * w, seed: 7), shape: [n, w])
            let g = try dev.upload(randomValues(w, seed: 8), shape: [w])
            let b = try dev.upload(randomValues(w, seed: 9), shape: [w])
            let out = try dev.makeTensor([n, w], dtype: .float32)
            let mean = try dev.makeTensor([n], dtype: .float32)
            let rstd = try dev.makeTensor([n], dtype: .float32)
            dev.layerNormForward(x: x, gamma: g, beta: b, out: out, mean: mean, rstd: rstd, eps: 1e-5)
            let dy = try dev.upload(randomValues(n * w, seed: 10), shape: [n, w])
            let dx = try dev.makeTensor([n, w], dtype: .float32)
            let dg = try dev.makeTensor([w], dtype: .float32)
            let db = try dev.makeTensor([w], dtype: .float32)
            return (
                {
                    dev.layerNormBackward(
                        dOut: dy, x: x, gamma: g, mean: mean, rstd: rstd, dX: dx, dGamma: dg, dBeta: db)
                },
                { try dev.download(dx) }
            )
        }
        rows("geglu fwd", n: nLat, width: 4 * d, bytesPerElement: 12) { dev, n, w in
            let h = try dev.upload(randomValues(n * 2 * w, seed: 12), shape: [n, 2 * w])
            let out = try dev.makeTensor([n, w], dtype: .float32)
            return ({ dev.gegluForward(h: h, out: out) }, { try dev.download(out) })
        }
        rows("geglu bwd", n: nLat, width: 4 * d, bytesPerElement: 28) { dev, n, w in
            let h = try dev.upload(randomValues(n * 2 * w, seed: 12), shape: [n, 2 * w])
            let dy = try dev.upload(randomValues(n * w, seed: 13), shape: [n, w])
            let dh = try dev.makeTensor([n, 2 * w], dtype: .float32)
            return ({ dev.gegluBackward(dOut: dy, h: h, dH: dh) }, { try dev.download(dh) })
        }
        rows("rotary", n: nIn, width: ci, bytesPerElement: 8) { dev, n, w in
            let x = try dev.upload(randomValues(n * 2 * w, seed: 14), shape: [n, 2 * w])
            let cs = try dev.upload(randomValues(n * dh / 4, seed: 15), shape: [n, dh / 4])
            let sn = try dev.upload(randomValues(n * dh / 4, seed: 16), shape: [n, dh / 4])
            return (
                { dev.rotary(x.columns(0, w), cos: cs, sin: sn, heads: w / dh, headDim: dh, inverse: false) },
                { try dev.download(x) }
            )
        }
        rows("gather unit_emb", n: nIn, width: d, bytesPerElement: 8) { dev, n, w in
            let table = try dev.upload(randomValues(1001 * w, seed: 17), shape: [1001, w])
            let idx = try dev.upload((0..<n).map { Int32(1 + ($0 * 7919) % 1000) }, shape: [n])
            let out = try dev.makeTensor([n, w], dtype: .float32)
            return (
                { dev.gatherRows(table: table, indices: idx, out: out, accumulate: false) }, { try dev.download(out) }
            )
        }
        rows("scatter-add unit_emb", n: nIn, width: d, bytesPerElement: 8) { dev, n, w in
            let g = try dev.upload(randomValues(n * w, seed: 18), shape: [n, w])
            let idx = try dev.upload((0..<n).map { Int32(1 + ($0 * 7919) % 1000) }, shape: [n])
            let table = try dev.makeTensor([1001, w], dtype: .float32)
            return ({ dev.scatterAddRows(g, indices: idx, into: table) }, { try dev.download(table) })
        }
        rows("dropout", n: nLat, width: 4 * d, bytesPerElement: 8) { dev, n, w in
            let x = try dev.upload(randomValues(n * w, seed: 19), shape: [n, w])
            return ({ dev.dropout(x, DropoutSpec(p: 0.2, seed: 3)) }, { try dev.download(x) })
        }
        rows("weighted mse fwd+bwd", n: nOut, width: 2, bytesPerElement: 16) { dev, n, w in
            let p = try dev.upload(randomValues(n * w, seed: 20), shape: [n, w])
            let t = try dev.upload(randomValues(n * w, seed: 21), shape: [n, w])
            let wt = try dev.upload(randomValues(n, seed: 22).map { abs($0) }, shape: [n])
            let loss = try dev.makeTensor([1], dtype: .float32)
            let dp = try dev.makeTensor([n, w], dtype: .float32)
            return (
                {
                    dev.weightedMSEForward(pred: p, target: t, weights: wt, loss: loss)
                    dev.weightedMSEBackward(pred: p, target: t, weights: wt, dPred: dp)
                },
                { try dev.download(loss) + dev.download(dp) }
            )
        }
        rows("lamb step", n: 3 * si, width: d, bytesPerElement: 28) { dev, n, w in
            let p = try dev.upload(randomValues(n * w, seed: 23), shape: [n, w])
            let g = try dev.upload(randomValues(n * w, seed: 24), shape: [n, w])
            let m = try dev.makeTensor([n, w], dtype: .float32)
            let v = try dev.makeTensor([n, w], dtype: .float32)
            return (
                { dev.lambStep(param: p, grad: g, m: m, v: v, sparseRows: false, LAMBParams(lr: 1e-3)) },
                { try dev.download(p) }
            )
        }
        return cases
    }
}
