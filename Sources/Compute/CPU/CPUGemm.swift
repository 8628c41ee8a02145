import CPUKernels
import _CBLAS

/// Which single-threaded SGEMM the CPU backend runs for every matrix product.
public enum CPUGemmKernels: Sendable, Equatable {
    /// CPUKernels' AVX-512 GEMM (`cpu_gemm.c`); OpenBLAS after all where the CPU lacks AVX-512.
    case avx512
    case openBLAS

    /// AVX-512 where the CPU has it, unless `POYO_GEMM=openblas`; else OpenBLAS.
    public static var best: CPUGemmKernels { poyo_sgemm_available() != 0 ? .avx512 : .openBLAS }

    /// "AVX-512 GEMM" or "OpenBLAS", for device names and benchmark tables.
    public var name: String { self == .avx512 && poyo_sgemm_available() != 0 ? "AVX-512 GEMM" : "OpenBLAS" }
}

extension CPUDevice {
    /// One single-threaded row-major SGEMM, `C = alpha · op(A)·op(B) + beta · C`, with this device's
    /// kernels. Every matrix product of the CPU backend goes through here (the linear layers by row
    /// block, attention per window × head), so the two libraries never mix inside one op.
    @inline(__always)
    func sgemm(
        transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
        _ a: UnsafePointer<Float>, lda: Int, _ b: UnsafePointer<Float>, ldb: Int, beta: Float,
        _ c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        if gemmKernels == .avx512,
            poyo_sgemm(transA ? 1 : 0, transB ? 1 : 0, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc) == 0
        {
            return
        }
        cblas_sgemm(
            CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
            Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// Row blocks of C go to separate workers; each runs one single-threaded `sgemm`.
    public func gemm(
        transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
        a: MatrixView, b: MatrixView, beta: Float, c: MatrixView
    ) {
        guard m > 0, n > 0 else { return }
        let ap = f(a)
        let bp = f(b)
        let cp = f(c)
        let (lda, ldb, ldc) = (a.ld, b.ld, c.ld)
        if k == 0 {
            // Nothing to multiply: c ← beta · c.
            pool.run(m, grain: 64) { _, r in
                for row in r { for col in 0..<n { cp[row * ldc + col] = beta == 0 ? 0 : beta * cp[row * ldc + col] } }
            }
            return
        }
        // Enough rows per block to keep the GEMM kernels efficient.
        let grain = max(16, (1 << 18) / max(1, n * k))
        pool.run(m, grain: grain) { _, r in
            let aBlock = transA ? ap + r.lowerBound : ap + r.lowerBound * lda
            sgemm(
                transA: transA, transB: transB, m: r.count, n: n, k: k, alpha: alpha,
                aBlock, lda: lda, bp, ldb: ldb, beta: beta, cp + r.lowerBound * ldc, ldc: ldc)
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
