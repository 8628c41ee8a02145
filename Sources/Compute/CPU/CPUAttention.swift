import CPUKernels
import Foundation

/// Varlen attention on the host: per (window, head) task, scores and probabilities live in a
/// `[nq, nk]` scratch the thread keeps from task to task (`TaskScratch`); matrix products go to the
/// single-threaded `sgemm` (CPUGemm.swift), the softmax, dropout and score-gradient rows to
/// CPUKernels (`cpu_attention.c`).
extension CPUDevice {
    /// One (window, head) task: the window's query rows `q0 ..< q0 + nq` and key rows `k0 ..< k0 + nk`.
    struct WindowHead {
        let head: Int
        let q0: Int
        let nq: Int
        let k0: Int
        let nk: Int
    }

    /// Runs `body` for every (window, head) pair across the pool; offsets are `[B + 1]` row starts.
    func forEachWindowHead(queryOffsets: Tensor, keyOffsets: Tensor, heads: Int, _ body: (WindowHead) -> Void) {
        let qo = i(queryOffsets)
        let ko = i(keyOffsets)
        pool.tasks((queryOffsets.count - 1) * heads) { task in
            let b = task / heads
            let q0 = Int(qo[b])
            let k0 = Int(ko[b])
            body(WindowHead(head: task % heads, q0: q0, nq: Int(qo[b + 1]) - q0, k0: k0, nk: Int(ko[b + 1]) - k0))
        }
    }

    public func attentionForward(
        q: MatrixView, k: MatrixView, v: MatrixView, out: Tensor, lse: Tensor,
        queryOffsets: Tensor, keyOffsets: Tensor, heads: Int, headDim: Int,
        scale: Float, dropout: DropoutSpec
    ) {
        let qp = f(q)
        let kp = f(k)
        let vp = f(v)
        let op = f(out)
        let lp = f(lse)
        let ldo = heads * headDim
        forEachWindowHead(queryOffsets: queryOffsets, keyOffsets: keyOffsets, heads: heads) { t in
            let (h, q0, nq, k0, nk) = (t.head, t.q0, t.nq, t.k0, t.nk)
            guard nq > 0 else { return }
            let outH = op + q0 * ldo + h * headDim
            guard nk > 0 else {
                // No keys: the output is zero (and lse −inf, so the backward adds nothing).
                for r in 0..<nq {
                    (outH + r * ldo).update(repeating: 0, count: headDim)
                    lp[(q0 + r) * heads + h] = -.infinity
                }
                return
            }
            let scores = TaskScratch(slot: 0, count: nq * nk)
            defer { scores.release() }
            let s = scores.pointer
            // s[nq, nk] = scale · q_h k_hᵀ
            sgemm(
                transA: false, transB: true, m: nq, n: nk, k: headDim, alpha: scale,
                qp + q0 * q.ld + h * headDim, lda: q.ld, kp + k0 * k.ld + h * headDim, ldb: k.ld, beta: 0, s, ldc: nk)
            poyo_attention_softmax(s, nq, nk, lp + q0 * heads + h, heads, dropout.kernelSpec, q0, h, heads)
            // out_h[nq, Dh] = P · v_h
            sgemm(
                transA: false, transB: false, m: nq, n: headDim, k: nk, alpha: 1,
                s, lda: nk, vp + k0 * v.ld + h * headDim, ldb: v.ld, beta: 0, outH, ldc: ldo)
        }
    }

    public func attentionBackward(
        dOut: Tensor, q: MatrixView, k: MatrixView, v: MatrixView, out: Tensor, lse: Tensor,
        dQ: MatrixView, dK: MatrixView, dV: MatrixView,
        queryOffsets: Tensor, keyOffsets: Tensor, heads: Int, headDim: Int,
        scale: Float, dropout: DropoutSpec
    ) {
        let qp = f(q)
        let kp = f(k)
        let vp = f(v)
        let op = f(out)
        let lp = f(lse)
        let gp = f(dOut)
        let dqp = f(dQ)
        let dkp = f(dK)
        let dvp = f(dV)
        let ldo = heads * headDim
        forEachWindowHead(queryOffsets: queryOffsets, keyOffsets: keyOffsets, heads: heads) { t in
            let (h, q0, nq, k0, nk) = (t.head, t.q0, t.nq, t.k0, t.nk)
            guard nq > 0, nk > 0 else { return }
            let qH = qp + q0 * q.ld + h * headDim
            let kH = kp + k0 * k.ld + h * headDim
            let vH = vp + k0 * v.ld + h * headDim
            let oH = op + q0 * ldo + h * headDim
            let gH = gp + q0 * ldo + h * headDim
            let scratch = (TaskScratch(slot: 0, count: nq * nk), TaskScratch(slot: 1, count: nq * nk))
            let dScratch = TaskScratch(slot: 2, count: nq)
            defer {
                scratch.0.release()
                scratch.1.release()
                dScratch.release()
            }
            let p = scratch.0.pointer  // P, then Pd
            let dp = scratch.1.pointer  // dPd, then dS
            let d = dScratch.pointer  // D per query row
            // Scores again; dPd[nq, nk] = dO · vᵀ; then P and dS row by row (CPUKernels).
            sgemm(
                transA: false, transB: true, m: nq, n: nk, k: headDim, alpha: scale,
                qH, lda: q.ld, kH, ldb: k.ld, beta: 0, p, ldc: nk)
            sgemm(
                transA: false, transB: true, m: nq, n: nk, k: headDim, alpha: 1,
                gH, lda: ldo, vH, ldb: v.ld, beta: 0, dp, ldc: nk)
            // D = Σ_j Pd·dPd = dO · O per row (the saved output already includes the dropout mask).
            for r in 0..<nq {
                var dsum: Float = 0
                let gr = gH + r * ldo
                let orow = oH + r * ldo
                for c in 0..<headDim { dsum += gr[c] * orow[c] }
                d[r] = dsum
            }
            poyo_attention_backward_scores(
                p, dp, nq, nk, lp + q0 * heads + h, heads, d, dropout.kernelSpec, q0, h, heads)
            // dV_h += Pdᵀ · dO ; dQ_h += scale · dS · k ; dK_h += scale · dSᵀ · q
            sgemm(
                transA: true, transB: false, m: nk, n: headDim, k: nq, alpha: 1,
                p, lda: nk, gH, ldb: ldo, beta: 1, dvp + k0 * dV.ld + h * headDim, ldc: dV.ld)
            sgemm(
                transA: false, transB: false, m: nq, n: headDim, k: nk, alpha: scale,
                dp, lda: nk, kH, ldb: k.ld, beta: 1, dqp + q0 * dQ.ld + h * headDim, ldc: dQ.ld)
            sgemm(
                transA: true, transB: false, m: nk, n: headDim, k: nq, alpha: scale,
                dp, lda: nk, qH, ldb: q.ld, beta: 1, dkp + k0 * dK.ld + h * headDim, ldc: dK.ld)
        }
    }
}

/// A thread's reusable scratch block (`poyo_scratch`, kept for the thread's life), or, when that
/// cannot grow, a block of its own freed by `release()`.
struct TaskScratch {
    let pointer: UnsafeMutablePointer<Float>
    private let owned: Bool

    init(slot: Int32, count: Int) {
        if let p = poyo_scratch(slot, count) {
            pointer = p
            owned = false
        } else {
            pointer = .allocate(capacity: count)
            owned = true
        }
    }

    func release() { if owned { pointer.deallocate() } }
}
