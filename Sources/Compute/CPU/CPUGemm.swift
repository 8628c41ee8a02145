import _CBLAS

extension CPUDevice {
    /// Row blocks of C go to separate workers; each calls single-threaded OpenBLAS.
    public func gemm(
        transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
        a: MatrixView, b: MatrixView, beta: Float, c: MatrixView
    ) {
        guard m > 0, n > 0 else { return }
        let ap = f(a)
        let bp = f(b)
        let cp = f(c)
        let (lda, ldb, ldc) = (a.ld, b.ld, c.ld)
        let ta = transA ? CblasTrans : CblasNoTrans
        let tb = transB ? CblasTrans : CblasNoTrans
        if k == 0 {
            // Nothing to multiply: c ← beta · c.
            pool.run(m, grain: 64) { _, r in
                for row in r { for col in 0..<n { cp[row * ldc + col] = beta == 0 ? 0 : beta * cp[row * ldc + col] } }
            }
            return
        }
        // Enough rows per block to keep OpenBLAS's kernels efficient.
        let grain = max(16, (1 << 18) / max(1, n * k))
        pool.run(m, grain: grain) { _, r in
            let aBlock = transA ? ap + r.lowerBound : ap + r.lowerBound * lda
            cblas_sgemm(
                CblasRowMajor, ta, tb, Int32(r.count), Int32(n), Int32(k), alpha,
                aBlock, Int32(lda), bp, Int32(ldb), beta, cp + r.lowerBound * ldc, Int32(ldc))
        }
    }

    public func addBias(_ x: Tensor, _ bias: Tensor) {
        let xp = f(x)
        let bp = f(bias)
        let d = bias.count
        let rows = x.count / max(d, 1)
        pool.run(rows, grain: 256) { _, r in
            for row in r {
                let xr = xp + row * d
                for j in 0..<d { xr[j] += bp[j] }
            }
        }
    }

    /// Column-parallel so each output element is one ordered sum (deterministic).
    public func sumRows(_ dY: Tensor, into dBias: Tensor) {
        let yp = f(dY)
        let bp = f(dBias)
        let d = dBias.count
        let rows = dY.count / max(d, 1)
        pool.run(d, grain: 16) { _, cols in
            var acc = [Float](repeating: 0, count: cols.count)
            acc.withUnsafeMutableBufferPointer { accp in
                for row in 0..<rows {
                    let yr = yp + row * d + cols.lowerBound
                    for j in 0..<cols.count { accp[j] += yr[j] }
                }
                for j in 0..<cols.count { bp[cols.lowerBound + j] += accp[j] }
            }
        }
    }
}
