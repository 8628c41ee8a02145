import Compute

/// Forward/backward building blocks of the POYO graph on one device, each taking its typed parameters
/// and saving what its backward needs. Buffers are `[rows, width]`; the backward functions accumulate
/// into input and parameter gradients.
struct Blocks {
    let dev: Device
    /// Where scratch tensors come from when the same graph runs again and again (the streaming
    /// decoder); nil: new tensors from the device's pool.
    var arena: TensorArena? = nil

    func tensor(_ rows: Int, _ cols: Int) throws -> Tensor {
        if let arena { return try arena.take(rows, cols) }
        return try dev.makeTensor([rows, cols], dtype: .float32)
    }

    /// `[rows]` float32 scratch.
    func vector(_ rows: Int) throws -> Tensor {
        if let arena { return try arena.take(rows, nil) }
        return try dev.makeTensor([rows], dtype: .float32)
    }

    // MARK: linear: y[N, out] = x[N, in] · Wᵀ (+ b)

    func linear(_ x: MatrixView, rows: Int, _ p: LinearParameters, into y: Tensor) {
        let w = p.weight.value
        dev.gemm(
            transA: false, transB: true, m: rows, n: w.shape[0], k: w.shape[1], alpha: 1,
            a: x, b: w.matrix, beta: 0, c: y.matrix)
        if let b = p.bias { dev.addBias(y, b.value) }
    }

    /// dW += dYᵀ x, dB += Σ dY, dX += dY · W (dX skipped when nil). `dY` is only read, so it may be a
    /// buffer the caller goes on accumulating into, but it must not overlap `dX`.
    func linearBackward(_ dY: Tensor, x: MatrixView, rows: Int, _ p: LinearParameters, dX: MatrixView?) {
        let w = p.weight.value
        let (out, fanIn) = (w.shape[0], w.shape[1])
        dev.gemm(
            transA: true, transB: false, m: out, n: fanIn, k: rows, alpha: 1, a: dY.matrix, b: x, beta: 1,
            c: p.weight.grad.matrix)
        if let b = p.bias { dev.sumRows(dY, into: b.grad) }
        if let dX {
            dev.gemm(
                transA: false, transB: false, m: rows, n: fanIn, k: out, alpha: 1, a: dY.matrix, b: w.matrix, beta: 1,
                c: dX)
        }
    }

    // MARK: layer norm

    struct LayerNormCache {
        let x: Tensor  // [N, d] input
        let out: Tensor  // [N, d]
        let mean: Tensor  // [N]
        let rstd: Tensor  // [N]
    }

    func layerNorm(_ x: Tensor, _ p: LayerNormParameters) throws -> LayerNormCache {
        let rows = x.rows
        let out = try tensor(rows, x.columns)
        let mean = try vector(rows)
        let rstd = try vector(rows)
        dev.layerNormForward(
            x: x, gamma: p.weight.value, beta: p.bias.value, out: out, mean: mean, rstd: rstd, eps: 1e-5)
        return LayerNormCache(x: x, out: out, mean: mean, rstd: rstd)
    }

    /// dX += ∂/∂x; dγ, dβ accumulate.
    func layerNormBackward(_ c: LayerNormCache, _ p: LayerNormParameters, dOut: Tensor, dX: Tensor) {
        dev.layerNormBackward(
            dOut: dOut, x: c.x, gamma: p.weight.value, mean: c.mean, rstd: c.rstd,
            dX: dX, dGamma: p.weight.grad, dBeta: p.bias.grad)
    }

    // MARK: feed-forward block: y = W2 · Drop(a ⊙ GELU(g)) + b2 on LN(x)

    struct FFNCache {
        let ln: LayerNormCache
        let h: Tensor  // [N, 8d] = [a | g]
        let act: Tensor  // [N, 4d]
        let dropout: DropoutSpec
        let outDropout: DropoutSpec
    }

    /// Returns (y `[N, d]`, cache); `outDropout` is the processor's residual-branch dropout (lin_dropout).
    func feedForward(
        _ x: Tensor, _ p: FeedForwardParameters, dropout: DropoutSpec, outDropout: DropoutSpec
    ) throws -> (Tensor, FFNCache) {
        let rows = x.rows
        let d = x.columns
        let ln = try layerNorm(x, p.norm)
        let h = try tensor(rows, 8 * d)
        linear(ln.out.matrix, rows: rows, p.input, into: h)
        let act = try tensor(rows, 4 * d)
        dev.gegluForward(h: h, out: act)
        dev.dropout(act, dropout)
        let y = try tensor(rows, d)
        linear(act.matrix, rows: rows, p.output, into: y)
        dev.dropout(y, outDropout)
        return (y, FFNCache(ln: ln, h: h, act: act, dropout: dropout, outDropout: outDropout))
    }

    /// dX += ∂/∂x of the block, given dY (the gradient of its output). `dY` is read before `dX` is
    /// written (only by the final layer norm backward, after every read of `dY`), so the residual
    /// stream may pass one buffer as both: `dY: dz, dX: dz` means dz ← dz + ∂FFN/∂x · dz.
    func feedForwardBackward(_ c: FFNCache, _ p: FeedForwardParameters, dY: Tensor, dX: Tensor) throws {
        let rows = c.h.rows
        let d = dY.columns
        let dOut = try droppedGradient(dY, c.outDropout)
        let dAct = try tensor(rows, 4 * d)
        linearBackward(dOut, x: c.act.matrix, rows: rows, p.output, dX: dAct.matrix)
        dev.dropout(dAct, c.dropout)
        let dH = try tensor(rows, 8 * d)
        dev.gegluBackward(dOut: dAct, h: c.h, dH: dH)
        let dLn = try tensor(rows, d)
        linearBackward(dH, x: c.ln.out.matrix, rows: rows, p.input, dX: dLn.matrix)
        layerNormBackward(c.ln, p.norm, dOut: dLn, dX: dX)
    }

    /// `dY` through an output dropout: a masked copy when the dropout is active (the caller's `dY` is
    /// kept intact, since the residual stream goes on using it), else `dY` itself.
    func droppedGradient(_ dY: Tensor, _ dropout: DropoutSpec) throws -> Tensor {
        guard dropout.isActive else { return dY }
        let out = try tensor(dY.rows, dY.columns)
        dev.copy(dY, to: out)
        dev.dropout(out, dropout)
        return out
    }
}

/// Rotary cos/sin tables `[N, P]` of one token set, on the device.
struct RotaryTensors {
    let cos: Tensor
    let sin: Tensor
}

/// Token sets an attention call relates: offsets `[B+1]` and rotary tables.
struct TokenSet {
    let rows: Int
    let offsets: Tensor
    let rotary: RotaryTensors
}
