import Foundation

/// Matrix products and the linear layers' bias (CPU: CPUGemm.swift): the backend's BLAS (CLBlast on
/// OpenCL, cuBLAS on CUDA) straight on the views' offsets and leading dimensions; k = 0 (which the
/// libraries refuse), bias add and its gradient by our own kernels (`elementwise.cl`).
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

    public func addBias(_ x: Tensor, _ bias: Tensor) {
        perform {
            try launch(
                .elementwise, "add_bias", global: x.count,
                [.mem(try mem(x, "addBias")), .mem(try mem(bias, "addBias")), .i(x.count), .i(bias.count)])
        }
    }

    public func sumRows(_ dY: Tensor, into dBias: Tensor) {
        let d = dBias.count
        let rows = dY.count / max(d, 1)
        guard rows > 0, d > 0 else { return }
        let (chunks, chunkRows) = Self.rowChunks(rows)
        perform {
            let partial = try scratch(chunks * d * 4)  // [chunks, d]
            try launch(
                .elementwise, "sum_rows_partial", global: chunks * d,
                [.mem(try mem(dY, "sumRows")), .mem(partial.memory), .i(rows), .i(d), .i(chunkRows), .i(chunks)])
            try launch(
                .elementwise, "sum_rows_final", global: d,
                [.mem(partial.memory), .mem(try mem(dBias, "sumRows")), .i(d), .i(chunks)])
        }
    }
}
