import Compute

/// POYO's rotary attention blocks (POYO-SPEC §3.3), forward and backward side by side.
extension Layers {
    struct AttentionCache {
        let lnQuery: LayerNormCache
        let lnContext: LayerNormCache?  // nil for self-attention (one LN)
        let q: Tensor  // [Nq, inner] rotated (cross) — or qkv [N, 3·inner] rotated (self)
        let kv: Tensor?  // [Nk, 2·inner] rotated k (and v when rotate_value), cross only
        let out: Tensor  // [Nq, inner] attention output before the inverse rotation
        let merged: Tensor  // [Nq, inner] the input of to_out
        let lse: Tensor  // [Nq, heads]
        let dropout: DropoutSpec
        let outDropout: DropoutSpec
    }

    func views(_ c: AttentionCache, inner: Int) -> (MatrixView, MatrixView, MatrixView) {
        if let kv = c.kv { return (c.q.matrix, kv.columns(0, inner), kv.columns(inner, inner)) }
        return (c.q.columns(0, inner), c.q.columns(inner, inner), c.q.columns(2 * inner, inner))
    }

    /// Cross-attention of `query` `[Nq, d]` over `context` `[Nk, d]`; returns `[Nq, d]`.
    func crossAttention(
        _ p: String, query: Tensor, context: Tensor, queries: TokenSet, keys: TokenSet,
        heads: Int, headDim: Int, rotateValue: Bool, dropout: DropoutSpec
    ) throws -> (Tensor, AttentionCache) {
        let inner = heads * headDim
        let d = query.columns
        let lnQ = try layerNorm(query, "\(p).norm")
        let lnC = try layerNorm(context, "\(p).norm_context")
        let q = try tensor(queries.rows, inner)
        linear(lnQ.out.matrix, rows: queries.rows, "\(p).to_q", bias: false, into: q)
        let kv = try tensor(keys.rows, 2 * inner)
        linear(lnC.out.matrix, rows: keys.rows, "\(p).to_kv", bias: false, into: kv)
        dev.rotary(
            q.matrix, cos: queries.rotary.cos, sin: queries.rotary.sin, heads: heads, headDim: headDim, inverse: false)
        dev.rotary(
            kv.columns(0, inner), cos: keys.rotary.cos, sin: keys.rotary.sin, heads: heads, headDim: headDim,
            inverse: false)
        if rotateValue {
            dev.rotary(
                kv.columns(inner, inner), cos: keys.rotary.cos, sin: keys.rotary.sin, heads: heads, headDim: headDim,
                inverse: false)
        }
        let cache0 = AttentionCache(
            lnQuery: lnQ, lnContext: lnC, q: q, kv: kv, out: q, merged: q, lse: q,
            dropout: dropout, outDropout: .none)
        return try finishAttention(
            p, cache0, queries: queries, keys: keys, heads: heads, headDim: headDim,
            rotateValue: rotateValue, d: d, outDropout: .none)
    }

    /// Self-attention over `x` `[N, d]` (rotary values, no mask); returns `[N, d]`.
    func selfAttention(
        _ p: String, x: Tensor, tokens: TokenSet, heads: Int, headDim: Int,
        dropout: DropoutSpec, outDropout: DropoutSpec
    ) throws -> (Tensor, AttentionCache) {
        let inner = heads * headDim
        let d = x.columns
        let ln = try layerNorm(x, "\(p).norm")
        let qkv = try tensor(tokens.rows, 3 * inner)
        linear(ln.out.matrix, rows: tokens.rows, "\(p).to_qkv", bias: false, into: qkv)
        for part in 0..<3 {
            dev.rotary(
                qkv.columns(part * inner, inner), cos: tokens.rotary.cos, sin: tokens.rotary.sin,
                heads: heads, headDim: headDim, inverse: false)
        }
        let cache0 = AttentionCache(
            lnQuery: ln, lnContext: nil, q: qkv, kv: nil, out: qkv, merged: qkv, lse: qkv,
            dropout: dropout, outDropout: outDropout)
        return try finishAttention(
            p, cache0, queries: tokens, keys: tokens, heads: heads, headDim: headDim,
            rotateValue: true, d: d, outDropout: outDropout)
    }

    /// Shared tail: attention, inverse rotation of the output, to_out, residual-branch dropout.
    private func finishAttention(
        _ p: String, _ c: AttentionCache, queries: TokenSet, keys: TokenSet,
        heads: Int, headDim: Int, rotateValue: Bool, d: Int,
        outDropout: DropoutSpec
    ) throws -> (Tensor, AttentionCache) {
        let inner = heads * headDim
        let (qv, kv, vv) = views(c, inner: inner)
        let out = try tensor(queries.rows, inner)
        let lse = try tensor(queries.rows, heads)
        dev.attentionForward(
            q: qv, k: kv, v: vv, out: out, lse: lse, queryOffsets: queries.offsets, keyOffsets: keys.offsets,
            heads: heads, headDim: headDim, scale: 1 / Float(headDim).squareRoot(), dropout: c.dropout)
        var merged = out
        if rotateValue {
            merged = try tensor(queries.rows, inner)
            dev.copy(out, to: merged)
            dev.rotary(
                merged.matrix, cos: queries.rotary.cos, sin: queries.rotary.sin, heads: heads, headDim: headDim,
                inverse: true)
        }
        let y = try tensor(queries.rows, d)
        linear(merged.matrix, rows: queries.rows, "\(p).to_out", bias: true, into: y)
        dev.dropout(y, outDropout)
        let cache = AttentionCache(
            lnQuery: c.lnQuery, lnContext: c.lnContext, q: c.q, kv: c.kv, out: out, merged: merged,
            lse: lse, dropout: c.dropout, outDropout: outDropout)
        return (y, cache)
    }

    /// Backward of either block: dQuery += ∂/∂query, dContext += ∂/∂context (cross only).
    func attentionBackward(
        _ p: String, _ c: AttentionCache, dY: Tensor, queries: TokenSet, keys: TokenSet,
        heads: Int, headDim: Int, rotateValue: Bool, dQuery: Tensor, dContext: Tensor?
    ) throws {
        let inner = heads * headDim
        let d = dY.columns
        var dOut = dY
        if c.outDropout.isActive {
            dOut = try tensor(queries.rows, d)
            dev.copy(dY, to: dOut)
            dev.dropout(dOut, c.outDropout)
        }
        let dMerged = try tensor(queries.rows, inner)
        linearBackward(dOut, x: c.merged.matrix, rows: queries.rows, "\(p).to_out", bias: true, dX: dMerged.matrix)
        // Backward of the inverse rotation is the forward rotation.
        if rotateValue {
            dev.rotary(
                dMerged.matrix, cos: queries.rotary.cos, sin: queries.rotary.sin, heads: heads, headDim: headDim,
                inverse: false)
        }
        let (qv, kv, vv) = views(c, inner: inner)
        let scale = 1 / Float(headDim).squareRoot()
        if c.kv != nil {
            // Cross-attention: separate q and kv projections.
            let dq = try tensor(queries.rows, inner)
            let dkv = try tensor(keys.rows, 2 * inner)
            dev.attentionBackward(
                dOut: dMerged, q: qv, k: kv, v: vv, out: c.out, lse: c.lse,
                dQ: dq.matrix, dK: dkv.columns(0, inner), dV: dkv.columns(inner, inner),
                queryOffsets: queries.offsets, keyOffsets: keys.offsets, heads: heads, headDim: headDim,
                scale: scale, dropout: c.dropout)
            dev.rotary(
                dq.matrix, cos: queries.rotary.cos, sin: queries.rotary.sin, heads: heads, headDim: headDim,
                inverse: true)
            dev.rotary(
                dkv.columns(0, inner), cos: keys.rotary.cos, sin: keys.rotary.sin, heads: heads, headDim: headDim,
                inverse: true)
            if rotateValue {
                dev.rotary(
                    dkv.columns(inner, inner), cos: keys.rotary.cos, sin: keys.rotary.sin, heads: heads,
                    headDim: headDim, inverse: true)
            }
            let dLnQ = try tensor(queries.rows, d)
            let dLnC = try tensor(keys.rows, d)
            linearBackward(dq, x: c.lnQuery.out.matrix, rows: queries.rows, "\(p).to_q", bias: false, dX: dLnQ.matrix)
            linearBackward(dkv, x: c.lnContext!.out.matrix, rows: keys.rows, "\(p).to_kv", bias: false, dX: dLnC.matrix)
            layerNormBackward(c.lnQuery, "\(p).norm", dOut: dLnQ, dX: dQuery)
            if let dContext { layerNormBackward(c.lnContext!, "\(p).norm_context", dOut: dLnC, dX: dContext) }
        } else {
            let dqkv = try tensor(queries.rows, 3 * inner)
            dev.attentionBackward(
                dOut: dMerged, q: qv, k: kv, v: vv, out: c.out, lse: c.lse,
                dQ: dqkv.columns(0, inner), dK: dqkv.columns(inner, inner), dV: dqkv.columns(2 * inner, inner),
                queryOffsets: queries.offsets, keyOffsets: keys.offsets, heads: heads, headDim: headDim,
                scale: scale, dropout: c.dropout)
            for part in 0..<3 {
                dev.rotary(
                    dqkv.columns(part * inner, inner), cos: queries.rotary.cos, sin: queries.rotary.sin,
                    heads: heads, headDim: headDim, inverse: true)
            }
            let dLn = try tensor(queries.rows, d)
            linearBackward(
                dqkv, x: c.lnQuery.out.matrix, rows: queries.rows, "\(p).to_qkv", bias: false, dX: dLn.matrix)
            layerNormBackward(c.lnQuery, "\(p).norm", dOut: dLn, dX: dQuery)
        }
    }
}
