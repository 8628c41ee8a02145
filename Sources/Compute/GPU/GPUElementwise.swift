import Foundation

/// Elementwise ops, bias and its gradient: `elementwise.cl` (CPU: CPUDevice.swift, CPUGemm.swift).
extension KernelDevice {
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
