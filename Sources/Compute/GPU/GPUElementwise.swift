import Foundation

/// Elementwise ops: `elementwise.cl` (CPU: CPUDevice.swift, cpu_dropout.c).
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
}
