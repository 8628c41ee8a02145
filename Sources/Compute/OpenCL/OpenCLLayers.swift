/// Embeddings, layer norm, GEGLU, rotary and the loss: `embedding.cl`, `layernorm.cl`, `geglu.cl`,
/// `rotary.cl`, `loss.cl`.
extension OpenCLDevice {
    // MARK: embeddings

    public func gatherRows(table: Tensor, indices: Tensor, out: Tensor, accumulate: Bool) {
        let d = table.columns
        let n = indices.count
        perform {
            try launch(
                .embedding, "gather_rows", global: n * d,
                [
                    .mem(try mem(table, "gatherRows")), .i(table.count / max(d, 1)),
                    .mem(try mem(indices, "gatherRows")),
                    .mem(try mem(out, "gatherRows")), .i(n), .i(d), .flag(accumulate),
                ])
        }
    }

    /// Sorts (index, row) keys with a bitonic sort, then sums each table row's segment in row order:
    /// deterministic without atomics, and in the order CPUDevice adds.
    public func scatterAddRows(_ dOut: Tensor, indices: Tensor, into dTable: Tensor) {
        let d = dTable.columns
        let n = indices.count
        let wg = Self.groupSize
        guard n > 0, d > 0 else { return }
        var p = 2 * wg  // keys padded to a power of two, at least one local block
        while p < n { p *= 2 }
        perform {
            let keys = try scratch(p * 8)  // [p] ulong
            try launch(
                .embedding, "scatter_keys", global: p,
                [.mem(try mem(indices, "scatterAddRows")), .i(n), .mem(keys.mem), .i(p)])
            try launch(.embedding, "bitonic_local", global: p / 2, [.mem(keys.mem)])
            var k = 4 * wg
            while k <= p {
                var j = k / 2
                while j >= 2 * wg {
                    try launch(.embedding, "bitonic_step", global: p, [.mem(keys.mem), .i(j), .i(k)])
                    j /= 2
                }
                try launch(.embedding, "bitonic_merge_local", global: p / 2, [.mem(keys.mem), .i(k)])
                k *= 2
            }
            try launch(
                .embedding, "scatter_segments", global: n * d,
                [
                    .mem(keys.mem), .i(n), .mem(try mem(dOut, "scatterAddRows")),
                    .mem(try mem(dTable, "scatterAddRows")),
                    .i(dTable.count / d), .i(d),
                ])
        }
    }

    // MARK: layer norm

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
                [.mem(g), .mem(xm), .mem(mm), .mem(rm), .mem(partial.mem), .i(rows), .i(d), .i(chunkRows), .i(chunks)])
            try launch(
                .layernorm, "layernorm_backward_params_final", global: d,
                [
                    .mem(partial.mem), .mem(try mem(dGamma, "layerNormBackward")),
                    .mem(try mem(dBeta, "layerNormBackward")),
                    .i(d), .i(chunks),
                ])
        }
    }

    // MARK: GEGLU

    public func gegluForward(h: Tensor, out: Tensor) {
        let f = out.columns
        let rows = out.count / max(f, 1)
        perform {
            try launch(
                .geglu, "geglu_forward", global: rows * f,
                [.mem(try mem(h, "gegluForward")), .mem(try mem(out, "gegluForward")), .i(rows), .i(f)])
        }
    }

    public func gegluBackward(dOut: Tensor, h: Tensor, dH: Tensor) {
        let f = dOut.columns
        let rows = dOut.count / max(f, 1)
        perform {
            try launch(
                .geglu, "geglu_backward", global: rows * f,
                [
                    .mem(try mem(dOut, "gegluBackward")), .mem(try mem(h, "gegluBackward")),
                    .mem(try mem(dH, "gegluBackward")), .i(rows), .i(f),
                ])
        }
    }

    // MARK: rotary

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

    // MARK: loss

    public func weightedMSEForward(pred: Tensor, target: Tensor, weights: Tensor, loss: Tensor) {
        let rows = weights.count
        let d = pred.count / max(rows, 1)
        let groups = Self.reductionGroups(rows)
        perform {
            let partial = try scratch(groups * 2 * 8)  // [groups, 2] acc_t
            try launch(
                .loss, "mse_partial", global: groups * Self.groupSize,
                [
                    .mem(try mem(pred, "weightedMSE")), .mem(try mem(target, "weightedMSE")),
                    .mem(try mem(weights, "weightedMSE")), .i(rows), .i(d), .flag(true), .mem(partial.mem),
                ])
            try launch(
                .loss, "mse_loss_final", global: Self.groupSize,
                [.mem(partial.mem), .i(groups), .mem(try mem(loss, "weightedMSE"))])
        }
    }

    /// Σw is reduced on the device into a coefficient 2 / (d·Σw) that the gradient kernel reads.
    public func weightedMSEBackward(pred: Tensor, target: Tensor, weights: Tensor, dPred: Tensor) {
        let rows = weights.count
        let d = pred.count / max(rows, 1)
        let groups = Self.reductionGroups(rows)
        perform {
            let p = try mem(pred, "weightedMSEBackward")
            let t = try mem(target, "weightedMSEBackward")
            let w = try mem(weights, "weightedMSEBackward")
            let partial = try scratch(groups * 2 * 8)
            let coef = try scratch(4)
            try launch(
                .loss, "mse_partial", global: groups * Self.groupSize,
                [.mem(p), .mem(t), .mem(w), .i(rows), .i(d), .flag(false), .mem(partial.mem)])
            try launch(
                .loss, "mse_grad_coef", global: Self.groupSize, [.mem(partial.mem), .i(groups), .i(d), .mem(coef.mem)])
            try launch(
                .loss, "mse_backward", global: rows * d,
                [
                    .mem(p), .mem(t), .mem(w), .mem(coef.mem), .mem(try mem(dPred, "weightedMSEBackward")), .i(rows),
                    .i(d),
                ])
        }
    }
}
