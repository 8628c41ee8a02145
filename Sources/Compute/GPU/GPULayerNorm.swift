import Foundation

/// Layer norm, forward and backward: `layernorm.cl` (CPU: CPULayerNorm.swift).
extension KernelDevice {
    public func layerNormForward(
        x: Tensor, gamma: Tensor, beta: Tensor, out: Tensor, mean: Tensor, rstd: Tensor, eps: Float
    ) {
        let d = gamma.count
        let rows = x.count / max(d, 1)
        guard d > 0 else { return }
        perform {
            try launch(
                .layernorm, "layernorm_forward", global: rows * Self.groupSize,
                [
                    .mem(try mem(x, "layerNorm")), .mem(try mem(gamma, "layerNorm")), .mem(try mem(beta, "layerNorm")),
                    .mem(try mem(out, "layerNorm")), .mem(try mem(mean, "layerNorm")), .mem(try mem(rstd, "layerNorm")),
                    .i(d), .float(eps),
                ])
        }
    }

    public func layerNormBackward(
        dOut: Tensor, x: Tensor, gamma: Tensor, mean: Tensor, rstd: Tensor,
        dX: Tensor, dGamma: Tensor, dBeta: Tensor
    ) {
        let d = gamma.count
        let rows = x.count / max(d, 1)
        guard d > 0, rows > 0 else { return }
        let (chunks, chunkRows) = Self.rowChunks(rows)
        perform {
            let g = try mem(dOut, "layerNormBackward")
            let xm = try mem(x, "layerNormBackward")
            let mm = try mem(mean, "layerNormBackward")
            let rm = try mem(rstd, "layerNormBackward")
            try launch(
                .layernorm, "layernorm_backward_dx", global: rows * Self.groupSize,
                [
                    .mem(g), .mem(xm), .mem(try mem(gamma, "layerNormBackward")), .mem(mm), .mem(rm),
                    .mem(try mem(dX, "layerNormBackward")), .i(d),
                ])
            let partial = try scratch(chunks * 2 * d * 4)  // [chunks, 2, d]
            try launch(
                .layernorm, "layernorm_backward_params_partial", global: chunks * d,
                [
                    .mem(g), .mem(xm), .mem(mm), .mem(rm), .mem(partial.memory), .i(rows), .i(d), .i(chunkRows),
                    .i(chunks),
                ])
            try launch(
                .layernorm, "layernorm_backward_params_final", global: d,
                [
                    .mem(partial.memory), .mem(try mem(dGamma, "layerNormBackward")),
                    .mem(try mem(dBeta, "layerNormBackward")),
                    .i(d), .i(chunks),
                ])
        }
    }
}
