import Foundation

/// Rotary position embedding (its inverse is the backward): `rotary.cl` (CPU: CPURotary.swift).
extension KernelDevice {
    public func rotary(_ x: MatrixView, cos: Tensor, sin: Tensor, heads: Int, headDim: Int, inverse: Bool) {
        let pairs = cos.columns
        let rows = cos.count / max(pairs, 1)
        perform {
            try launch(
                .rotary, "rotary", global: rows * heads * pairs,
                [
                    .mem(try mem(x.tensor, "rotary")), .i(x.offset), .i(x.ld), .mem(try mem(cos, "rotary")),
                    .mem(try mem(sin, "rotary")), .i(rows), .i(heads), .i(headDim), .i(pairs), .float(inverse ? -1 : 1),
                ])
        }
    }
}
