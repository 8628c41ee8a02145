import Foundation

/// Matrix products: the backend's BLAS (CLBlast on OpenCL, cuBLAS on CUDA; CPU: CPUGemm.swift),
/// straight on the views' offsets and leading dimensions. k = 0 (which the libraries refuse) is
/// c ← beta · c by our own kernel (`elementwise.cl`).
extension KernelDevice {
    public func gemm(
        transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
        a: MatrixView, b: MatrixView, beta: Float, c: MatrixView
    ) {
        guard m > 0, n > 0 else { return }
        perform {
            let cm = try mem(c.tensor, "gemm")
            if k == 0 {
                try launch(
                    .elementwise, "scale_matrix", global: m * n,
                    [.mem(cm), .i(c.offset), .i(c.ld), .i(m), .i(n), .float(beta)])
                return
            }
            try backend.sgemm(
                transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha,
                a: try mem(a.tensor, "gemm"), aOffset: a.offset, lda: a.ld,
                b: try mem(b.tensor, "gemm"), bOffset: b.offset, ldb: b.ld,
                beta: beta, c: cm, cOffset: c.offset, ldc: c.ld)
        }
    }
}
