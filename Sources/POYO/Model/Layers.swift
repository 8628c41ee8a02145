import Compute

/// Forward/backward building blocks of the POYO graph, each saving what its backward needs.
/// Buffers are `[rows, width]`; the backward functions accumulate into input gradients.
struct Layers {
    let dev: Device
    let params: ParameterSet

    func tensor(_ rows: Int, _ cols: Int) throws -> Tensor { try dev.makeTensor([rows, cols], dtype: .float32) }

    // MARK: linear: y[N, out] = x[N, in] · Wᵀ (+ b)

    func linear(_ x: MatrixView, rows: Int, _ prefix: String, bias: Bool, into y: Tensor) {
        let w = params["\(prefix).weight"]
        dev.gemm(
            transA: false, transB: true, m: rows, n: w.shape[0], k: w.shape[1], alpha: 1,
            a: x, b: w.matrix, beta: 0, c: y.matrix)
        if bias { dev.addBias(y, params["\(prefix).bias"]) }
    }

    /// dW += dYᵀ x, dB += Σ dY, dX += dY · W (dX skipped when nil).
    func linearBackward(_ dY: Tensor, x: MatrixView, rows: Int, _ prefix: String, bias: Bool, dX: MatrixView?) {
        let w = params["\(prefix).weight"]
        let dW = params.grad("\(prefix).weight")
        let (out, fanIn) = (w.shape[0], w.shape[1])
        dev.gemm(
            transA: true, transB: false, m: out, n: fanIn, k: rows, alpha: 1, a: dY.matrix, b: x, beta: 1, c: dW.matrix)
        if bias { dev.sumRows(dY, into: params.grad("\(prefix).bias")) }
        if let dX {
            dev.gemm(
                transA: false, transB: false, m: rows, n: fanIn, k: out, alpha: 1, a: dY.matrix, b: w.matrix, beta: 1,
                c: dX)
        }
    }

    // MARK: layer norm

    struct LayerNormCache {
        let x: Tensor
        let out: Tensor
        let mean: Tensor
        let rstd: Tensor
    }

    func layerNorm(_ x: Tensor, _ prefix: String) throws -> LayerNormCache {
        let rows = x.rows
        let out = try tensor(rows, x.columns)
        let mean = try dev.makeTensor([rows], dtype: .float32)
        let rstd = try dev.makeTensor([rows], dtype: .float32)
        dev.layerNormForward(
            x: x, gamma: params["\(prefix).weight"], beta: params["\(prefix).bias"],
            out: out, mean: mean, rstd: rstd, eps: 1e-5)
        return LayerNormCache(x: x, out: out, mean: mean, rstd: rstd)
    }

    func layerNormBackward(_ c: LayerNormCache, _ prefix: String, dOut: Tensor, dX: Tensor) {
        dev.layerNormBackward(
            dOut: dOut, x: c.x, gamma: params["\(prefix).weight"], mean: c.mean, rstd: c.rstd,
            dX: dX, dGamma: params.grad("\(prefix).weight"), dBeta: params.grad("\(prefix).bias"))
    }

    // MARK: feed-forward block: y = W2 · Drop(a ⊙ GELU(g)) + b2 on LN(x)

    struct FFNCache {
        let ln: LayerNormCache
        let h: Tensor
        let act: Tensor
        let dropout: DropoutSpec
        let outDropout: DropoutSpec
    }

    /// Returns (y, cache); `outDropout` is the processor's residual-branch dropout (lin_dropout).
    func feedForward(_ x: Tensor, _ p: String, dropout: DropoutSpec, outDropout: DropoutSpec) throws -> (
        Tensor, FFNCache
    ) {
        let rows = x.rows
        let d = x.columns
        let ln = try layerNorm(x, "\(p).0")
        let h = try tensor(rows, 8 * d)  // [N, 8d] = [a | g]
        linear(ln.out.matrix, rows: rows, "\(p).1.net.0", bias: true, into: h)
        let act = try tensor(rows, 4 * d)  // [N, 4d]
        dev.gegluForward(h: h, out: act)
        dev.dropout(act, dropout)
        let y = try tensor(rows, d)
        linear(act.matrix, rows: rows, "\(p).1.net.3", bias: true, into: y)
        dev.dropout(y, outDropout)
        return (y, FFNCache(ln: ln, h: h, act: act, dropout: dropout, outDropout: outDropout))
    }

    /// dX += ∂/∂x of the block, given dY (gradient of its output, not modified).
    func feedForwardBackward(_ c: FFNCache, _ p: String, dY: Tensor, dX: Tensor) throws {
        let rows = c.h.rows
        let d = dY.columns
        var dOut = dY
        if c.outDropout.isActive {
            dOut = try tensor(rows, d)
            dev.copy(dY, to: dOut)
            dev.dropout(dOut, c.outDropout)
        }
        let dAct = try tensor(rows, 4 * d)
        linearBackward(dOut, x: c.act.matrix, rows: rows, "\(p).1.net.3", bias: true, dX: dAct.matrix)
        dev.dropout(dAct, c.dropout)
        let dH = try tensor(rows, 8 * d)
        dev.gegluBackward(dOut: dAct, h: c.h, dH: dH)
        let dLn = try tensor(rows, d)
        linearBackward(dH, x: c.ln.out.matrix, rows: rows, "\(p).1.net.0", bias: true, dX: dLn.matrix)
        layerNormBackward(c.ln, "\(p).0", dOut: dLn, dX: dX)
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
