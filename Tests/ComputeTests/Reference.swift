import Compute
import Foundation

/// Plain float64 implementations of the `Device` ops, written from their documented definitions
/// (Device.swift, docs/spec.md §3.2-3.4, §4.4) and sharing no code with any backend.
enum Ref {
    /// c ← alpha · op(a) · op(b) + beta · c on strided row-major buffers; returns the whole c buffer.
    /// beta = 0 does not read c (BLAS convention).
    static func gemm(
        transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Double,
        a: [Double], aOffset: Int, lda: Int, b: [Double], bOffset: Int, ldb: Int,
        beta: Double, c: [Double], cOffset: Int, ldc: Int
    ) -> [Double] {
        var c = c
        for i in 0..<m {
            for j in 0..<n {
                var s = 0.0
                for l in 0..<k {
                    let av = transA ? a[aOffset + l * lda + i] : a[aOffset + i * lda + l]
                    let bv = transB ? b[bOffset + j * ldb + l] : b[bOffset + l * ldb + j]
                    s += av * bv
                }
                let at = cOffset + i * ldc + j
                c[at] = alpha * s + (beta == 0 ? 0 : beta * c[at])
            }
        }
        return c
    }

    /// Biased-variance layer norm over the last dimension of x `[rows, d]`.
    static func layerNorm(x: [Double], gamma: [Double], beta: [Double], rows: Int, d: Int, eps: Double)
        -> (out: [Double], mean: [Double], rstd: [Double])
    {
        var out = [Double](repeating: 0, count: rows * d)
        var mean = [Double]()
        var rstd = [Double]()
        for r in 0..<rows {
            let xr = x[(r * d)..<((r + 1) * d)]
            let mu = xr.reduce(0, +) / Double(d)
            let variance = xr.reduce(0) { $0 + ($1 - mu) * ($1 - mu) } / Double(d)
            let rs = 1 / (variance + eps).squareRoot()
            for j in 0..<d { out[r * d + j] = (x[r * d + j] - mu) * rs * gamma[j] + beta[j] }
            mean.append(mu)
            rstd.append(rs)
        }
        return (out, mean, rstd)
    }

    /// h `[rows, 2f]` = [a | g] → a ⊙ GELU_erf(g) `[rows, f]`.
    static func geglu(h: [Double], rows: Int, f: Int) -> [Double] {
        var out = [Double](repeating: 0, count: rows * f)
        for r in 0..<rows {
            for j in 0..<f {
                let a = h[r * 2 * f + j]
                let g = h[r * 2 * f + f + j]
                out[r * f + j] = a * 0.5 * g * (1 + erf(g / 2.0.squareRoot()))
            }
        }
        return out
    }

    /// Rotates pairs (2p, 2p+1), p < pairs, of every head of rows `0..<rows` of the strided matrix
    /// at `offset` with leading dimension `ld`; `inverse` rotates by minus the angle.
    static func rotary(
        _ x: [Double], offset: Int, ld: Int, rows: Int, cos: [Double], sin: [Double],
        pairs: Int, heads: Int, headDim: Int, inverse: Bool
    ) -> [Double] {
        var y = x
        let sign = inverse ? -1.0 : 1.0
        for r in 0..<rows {
            for h in 0..<heads {
                for p in 0..<pairs {
                    let i0 = offset + r * ld + h * headDim + 2 * p
                    let c = cos[r * pairs + p]
                    let s = sign * sin[r * pairs + p]
                    y[i0] = x[i0] * c - x[i0 + 1] * s
                    y[i0 + 1] = x[i0 + 1] * c + x[i0] * s
                }
            }
        }
        return y
    }

    /// Varlen softmax attention with dropout on the probabilities (the shared `DropoutMask`).
    /// q `[Nq, H·Dh]`, k, v `[Nk, H·Dh]` dense; returns out `[Nq, H·Dh]` and lse `[Nq, H]`
    /// (lse of the scaled scores; a window without keys gives out 0 and lse −∞).
    static func attention(
        q: [Double], k: [Double], v: [Double], queryOffsets qo: [Int], keyOffsets ko: [Int],
        heads: Int, headDim: Int, scale: Double, dropout: DropoutSpec
    )
        -> (out: [Double], lse: [Double])
    {
        let hd = heads * headDim
        let nqTotal = qo.last!
        var out = [Double](repeating: 0, count: nqTotal * hd)
        var lse = [Double](repeating: -.infinity, count: nqTotal * heads)
        let thr = DropoutMask.threshold(dropout.p)
        let keepScale = 1 / (1 - Double(dropout.p))
        for b in 0..<(qo.count - 1) {
            for h in 0..<heads {
                for i in qo[b]..<qo[b + 1] {
                    let keys = Array(ko[b]..<ko[b + 1])
                    if keys.isEmpty { continue }
                    let scores = keys.map { j in
                        (0..<headDim).reduce(0.0) { $0 + q[i * hd + h * headDim + $1] * k[j * hd + h * headDim + $1] }
                            * scale
                    }
                    let mx = scores.max()!
                    let e = scores.map { Foundation.exp($0 - mx) }
                    let sum = e.reduce(0, +)
                    lse[i * heads + h] = mx + Foundation.log(sum)
                    for (jj, j) in keys.enumerated() {
                        var p = e[jj] / sum
                        if dropout.isActive {
                            let idx = DropoutMask.attentionIndex(row: i, head: h, heads: heads, key: jj)
                            p *= DropoutMask.keep(dropout.seed, idx, threshold: thr) ? keepScale : 0
                        }
                        for c in 0..<headDim { out[i * hd + h * headDim + c] += p * v[j * hd + h * headDim + c] }
                    }
                }
            }
        }
        return (out, lse)
    }

    /// Σ_i w_i · mean_d (pred − target)² / Σ_i w_i, skipping rows with w = 0 (their targets may be NaN).
    static func weightedMSE(pred: [Double], target: [Double], weights: [Double], d: Int) -> Double {
        var sw = 0.0
        var sl = 0.0
        for (r, w) in weights.enumerated() where w != 0 {
            var e = 0.0
            for j in 0..<d {
                let diff = pred[r * d + j] - target[r * d + j]
                e += diff * diff
            }
            sw += w
            sl += w * e / Double(d)
        }
        return sw > 0 ? sl / sw : 0
    }

    /// torch.optim.AdamW, one step (`t` 1-based); updates p, m, v in place.
    static func adamW(
        p: inout [Double], g: [Double], m: inout [Double], v: inout [Double],
        lr: Double, beta1: Double, beta2: Double, eps: Double, wd: Double, t: Int
    ) {
        let bc1 = 1 - Foundation.pow(beta1, Double(t))
        let bc2 = 1 - Foundation.pow(beta2, Double(t))
        for j in p.indices {
            p[j] *= 1 - lr * wd
            m[j] = beta1 * m[j] + (1 - beta1) * g[j]
            v[j] = beta2 * v[j] + (1 - beta2) * g[j] * g[j]
            p[j] -= lr / bc1 * m[j] / (v[j].squareRoot() / bc2.squareRoot() + eps)
        }
    }

    /// LAMB as docs/spec.md §4.4 (no bias correction, ‖w‖ clamped at `maxNorm`, r = 1 if either norm
    /// is 0). With `rowWidth`, rows whose gradient is all zero are not updated and their moments
    /// are reset to 0, so their s is wd·w; ‖w‖ and ‖s‖ are taken over every row.
    /// Returns the trust ratio used.
    @discardableResult
    static func lamb(
        w: inout [Double], g: [Double], m: inout [Double], v: inout [Double],
        lr: Double, beta1: Double, beta2: Double, eps: Double, wd: Double, maxNorm: Double,
        rowWidth: Int? = nil
    ) -> Double {
        let width = rowWidth ?? w.count
        let touched = stride(from: 0, to: w.count, by: width).map { r0 in g[r0..<(r0 + width)].contains { $0 != 0 } }
        var s = [Double](repeating: 0, count: w.count)
        for j in w.indices {
            if rowWidth == nil || touched[j / width] {
                m[j] = beta1 * m[j] + (1 - beta1) * g[j]
                v[j] = beta2 * v[j] + (1 - beta2) * g[j] * g[j]
            } else {
                m[j] = 0
                v[j] = 0
            }
            s[j] = m[j] / (v[j].squareRoot() + eps) + wd * w[j]
        }
        let wn = min(w.reduce(0) { $0 + $1 * $1 }.squareRoot(), maxNorm)
        let sn = s.reduce(0) { $0 + $1 * $1 }.squareRoot()
        let ratio = (wn > 0 && sn > 0) ? wn / sn : 1
        for j in w.indices where rowWidth == nil || touched[j / width] { w[j] -= lr * ratio * s[j] }
        return ratio
    }
}
