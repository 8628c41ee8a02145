import _CCLBlast
import _COpenCL

/// Elementwise ops, bias, matrix products (CLBlast) and norm reductions: `elementwise.cl`, `reduce.cl`.
extension OpenCLDevice {
    public func fill(_ tensor: Tensor, _ value: Float) {
        perform {
            try launch(
                .elementwise, "fill", global: tensor.count,
                [.mem(try mem(tensor, "fill")), .i(tensor.count), .float(value)])
        }
    }

    public func copy(_ src: Tensor, to dst: Tensor) {
        let n = min(src.count, dst.count)
        perform {
            try launch(
                .elementwise, "copy", global: n, [.mem(try mem(src, "copy")), .mem(try mem(dst, "copy")), .i(n)])
        }
    }

    public func axpy(_ alpha: Float, _ x: Tensor, _ y: Tensor) {
        let n = min(x.count, y.count)
        perform {
            try launch(
                .elementwise, "axpy", global: n,
                [.float(alpha), .mem(try mem(x, "axpy")), .mem(try mem(y, "axpy")), .i(n)])
        }
    }

    public func scale(_ tensor: Tensor, by factor: Float) {
        perform {
            try launch(
                .elementwise, "scale", global: tensor.count,
                [.mem(try mem(tensor, "scale")), .i(tensor.count), .float(factor)])
        }
    }

    public func dropout(_ x: Tensor, _ spec: DropoutSpec) {
        guard spec.isActive else { return }
        perform {
            try launch(
                .elementwise, "dropout", global: x.count,
                [
                    .mem(try mem(x, "dropout")), .i(x.count), .ulong(spec.seed),
                    .uint(DropoutMask.threshold(spec.p)), .float(1 / (1 - spec.p)),
                ])
        }
    }

    // MARK: matrix products

    /// CLBlast in row-major layout, straight on the views' offsets and leading dimensions. k = 0
    /// (which CLBlast refuses) is c ← beta · c by our own kernel.
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
            let am = try mem(a.tensor, "gemm")
            let bm = try mem(b.tensor, "gemm")
            var q: cl_command_queue? = queue
            var event: cl_event?
            let st = CLBlastSgemm(
                CLBlastLayoutRowMajor, transA ? CLBlastTransposeYes : CLBlastTransposeNo,
                transB ? CLBlastTransposeYes : CLBlastTransposeNo, m, n, k, alpha,
                am, a.offset, a.ld, bm, b.offset, b.ld, beta, cm, c.offset, c.ld, &q, &event)
            guard st.rawValue == CLBlastSuccess.rawValue else {
                throw CLBlastError(
                    call: "CLBlastSgemm(m \(m), n \(n), k \(k), lda \(a.ld), ldb \(b.ld), ldc \(c.ld))",
                    status: st.rawValue)
            }
            if let event {
                if profiling != nil { profiling?.append(("gemm", event)) } else { clReleaseEvent(event) }
            }
        }
    }

    public func addBias(_ x: Tensor, _ bias: Tensor) {
        perform {
            try launch(
                .elementwise, "add_bias", global: x.count,
                [.mem(try mem(x, "addBias")), .mem(try mem(bias, "addBias")), .i(x.count), .i(bias.count)])
        }
    }

    /// Fixed row chunks for column sums: partial sums per (chunk, column), then an ordered sum of
    /// the chunks. Depends only on the row count, so results repeat bit for bit.
    static func rowChunks(_ rows: Int) -> (chunks: Int, chunkRows: Int) {
        let chunks = max(1, min(256, (rows + 15) / 16))
        return (chunks, (rows + chunks - 1) / chunks)
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
                [.mem(try mem(dY, "sumRows")), .mem(partial.mem), .i(rows), .i(d), .i(chunkRows), .i(chunks)])
            try launch(
                .elementwise, "sum_rows_final", global: d,
                [.mem(partial.mem), .mem(try mem(dBias, "sumRows")), .i(d), .i(chunks)])
        }
    }

    // MARK: reductions

    /// Work-groups of a two-stage reduction over n items: fixed for a given n (so sums repeat bit for
    /// bit) and at most one group's worth, so one group combines them.
    static func reductionGroups(_ n: Int) -> Int { max(1, min(groupSize, (n + groupSize - 1) / groupSize)) }

    public func sumOfSquares(_ x: Tensor, into out: Tensor, accumulate: Bool) {
        let groups = Self.reductionGroups(x.count)
        perform {
            let partial = try scratch(groups * 8)  // [groups] acc_t (8 bytes covers float64)
            try launch(
                .reduce, "sum_squares_partial", global: groups * Self.groupSize,
                [.mem(try mem(x, "sumOfSquares")), .i(x.count), .mem(partial.mem)])
            try launch(
                .reduce, "sum_squares_final", global: Self.groupSize,
                [.mem(partial.mem), .i(groups), .mem(try mem(out, "sumOfSquares")), .flag(accumulate)])
        }
    }
}
