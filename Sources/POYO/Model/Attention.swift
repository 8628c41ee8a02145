import Compute

/// POYO's rotary attention blocks (docs/spec.md §3.3), forward and backward side by side.
extension Blocks {
    /// What the attention core (scores, softmax, weighted sum, inverse rotation, `to_out`) saved.
    struct AttentionCore {
        let q: MatrixView  // [Nq, inner] rotated queries
        let k: MatrixView  // [Nk, inner] rotated keys
        let v: MatrixView  // [Nk, inner] values (rotated when the block rotates them)
        let out: Tensor  // [Nq, inner] attention output before the inverse rotation
        let merged: Tensor  // [Nq, inner] the input of to_out
        let lse: Tensor  // [Nq, heads] log-sum-exp of the scores
        let dropout: DropoutSpec
        let outDropout: DropoutSpec
    }

    /// A cross-attention block's saved state: both norms, the projections and the core.
    struct CrossAttentionCache {
        let lnQuery: LayerNormCache
        let lnContext: LayerNormCache
        let core: AttentionCore
    }

    /// A self-attention block's saved state: its norm and the core.
    struct SelfAttentionCache {
        let ln: LayerNormCache
        let core: AttentionCore
    }

    /// The shape of one attention call: heads, head width, and whether values are rotated.
    struct AttentionShape {
        let heads: Int
        let headDim: Int
        let rotateValue: Bool
        var inner: Int { heads * headDim }
        var scale: Float { 1 / Float(headDim).squareRoot() }
    }

    func rotate(_ x: MatrixView, _ tokens: TokenSet, _ s: AttentionShape, inverse: Bool) {
        dev.rotary(
            x, cos: tokens.rotary.cos, sin: tokens.rotary.sin, heads: s.heads, headDim: s.headDim, inverse: inverse)
    }

    /// Cross-attention of `query` `[Nq, d]` over `context` `[Nk, d]`; returns `[Nq, d]`.
    func crossAttention(
        _ p: CrossAttentionParameters, query: Tensor, context: Tensor, queries: TokenSet, keys: TokenSet,
        shape s: AttentionShape, dropout: DropoutSpec
    ) throws -> (Tensor, CrossAttentionCache) {
        let lnQ = try layerNorm(query, p.norm)
        let lnC = try layerNorm(context, p.normContext)
        let q = try tensor(queries.rows, s.inner)  // [Nq, inner]
        linear(lnQ.out.matrix, rows: queries.rows, p.toQ, into: q)
        let kv = try tensor(keys.rows, 2 * s.inner)  // [Nk, 2·inner] = [k | v]
        linear(lnC.out.matrix, rows: keys.rows, p.toKV, into: kv)
        rotate(q.matrix, queries, s, inverse: false)
        rotate(kv.columns(0, s.inner), keys, s, inverse: false)
        if s.rotateValue { rotate(kv.columns(s.inner, s.inner), keys, s, inverse: false) }
        let (y, core) = try attend(
            q: q.matrix, k: kv.columns(0, s.inner), v: kv.columns(s.inner, s.inner), p.toOut,
            queries: queries, keys: keys, shape: s, dropout: dropout, outDropout: .none, width: query.columns)
        return (y, CrossAttentionCache(lnQuery: lnQ, lnContext: lnC, core: core))
    }

    /// Self-attention over `x` `[N, d]` (rotary values, no mask); returns `[N, d]`.
    func selfAttention(
        _ p: SelfAttentionParameters, x: Tensor, tokens: TokenSet, shape s: AttentionShape,
        dropout: DropoutSpec, outDropout: DropoutSpec
    ) throws -> (Tensor, SelfAttentionCache) {
        let ln = try layerNorm(x, p.norm)
        let qkv = try tensor(tokens.rows, 3 * s.inner)  // [N, 3·inner] = [q | k | v]
        linear(ln.out.matrix, rows: tokens.rows, p.toQKV, into: qkv)
        for part in 0..<3 { rotate(qkv.columns(part * s.inner, s.inner), tokens, s, inverse: false) }
        let (y, core) = try attend(
            q: qkv.columns(0, s.inner), k: qkv.columns(s.inner, s.inner), v: qkv.columns(2 * s.inner, s.inner),
            p.toOut, queries: tokens, keys: tokens, shape: s, dropout: dropout, outDropout: outDropout,
            width: x.columns)
        return (y, SelfAttentionCache(ln: ln, core: core))
    }

    /// The core both blocks share: attention, inverse rotation of the output, to_out, residual-branch
    /// dropout. Returns `[Nq, width]`.
    private func attend(
        q: MatrixView, k: MatrixView, v: MatrixView, _ toOut: LinearParameters, queries: TokenSet,
        keys: TokenSet, shape s: AttentionShape, dropout: DropoutSpec, outDropout: DropoutSpec, width: Int
    ) throws -> (Tensor, AttentionCore) {
        let out = try tensor(queries.rows, s.inner)
        let lse = try tensor(queries.rows, s.heads)
        dev.attentionForward(
            q: q, k: k, v: v, out: out, lse: lse, queryOffsets: queries.offsets, keyOffsets: keys.offsets,
            heads: s.heads, headDim: s.headDim, scale: s.scale, dropout: dropout)
        var merged = out
        if s.rotateValue {
            merged = try tensor(queries.rows, s.inner)
            dev.copy(out, to: merged)
            rotate(merged.matrix, queries, s, inverse: true)
        }
        let y = try tensor(queries.rows, width)
        linear(merged.matrix, rows: queries.rows, toOut, into: y)
        dev.dropout(y, outDropout)
        let core = AttentionCore(
            q: q, k: k, v: v, out: out, merged: merged, lse: lse, dropout: dropout, outDropout: outDropout)
        return (y, core)
    }

    /// Backward of the core: to_out and the attention itself. Writes dQ, dK, dV (not yet un-rotated).
    private func attendBackward(
        _ c: AttentionCore, _ toOut: LinearParameters, dY: Tensor, queries: TokenSet, keys: TokenSet,
        shape s: AttentionShape, dQ: MatrixView, dK: MatrixView, dV: MatrixView
    ) throws {
        let dOut = try droppedGradient(dY, c.outDropout)
        let dMerged = try tensor(queries.rows, s.inner)
        linearBackward(dOut, x: c.merged.matrix, rows: queries.rows, toOut, dX: dMerged.matrix)
        // The backward of the inverse rotation is the forward rotation.
        if s.rotateValue { rotate(dMerged.matrix, queries, s, inverse: false) }
        dev.attentionBackward(
            dOut: dMerged, q: c.q, k: c.k, v: c.v, out: c.out, lse: c.lse, dQ: dQ, dK: dK, dV: dV,
            queryOffsets: queries.offsets, keyOffsets: keys.offsets, heads: s.heads, headDim: s.headDim,
            scale: s.scale, dropout: c.dropout)
    }

    /// dQuery += ∂/∂query, dContext += ∂/∂context (skipped when nil). `dY` may be `dQuery` (the
    /// residual stream): it is read before `dQuery` is written.
    func crossAttentionBackward(
        _ p: CrossAttentionParameters, _ c: CrossAttentionCache, dY: Tensor, queries: TokenSet, keys: TokenSet,
        shape s: AttentionShape, dQuery: Tensor, dContext: Tensor?
    ) throws {
        let dq = try tensor(queries.rows, s.inner)  // [Nq, inner]
        let dkv = try tensor(keys.rows, 2 * s.inner)  // [Nk, 2·inner] = [dk | dv]
        try attendBackward(
            c.core, p.toOut, dY: dY, queries: queries, keys: keys, shape: s,
            dQ: dq.matrix, dK: dkv.columns(0, s.inner), dV: dkv.columns(s.inner, s.inner))
        rotate(dq.matrix, queries, s, inverse: true)
        rotate(dkv.columns(0, s.inner), keys, s, inverse: true)
        if s.rotateValue { rotate(dkv.columns(s.inner, s.inner), keys, s, inverse: true) }
        let d = dY.columns
        let dLnQ = try tensor(queries.rows, d)
        linearBackward(dq, x: c.lnQuery.out.matrix, rows: queries.rows, p.toQ, dX: dLnQ.matrix)
        let dLnC = try tensor(keys.rows, d)
        linearBackward(dkv, x: c.lnContext.out.matrix, rows: keys.rows, p.toKV, dX: dLnC.matrix)
        layerNormBackward(c.lnQuery, p.norm, dOut: dLnQ, dX: dQuery)
        if let dContext { layerNormBackward(c.lnContext, p.normContext, dOut: dLnC, dX: dContext) }
    }

    /// dX += ∂/∂x of the self-attention block; `dY` may be `dX` (read first).
    func selfAttentionBackward(
        _ p: SelfAttentionParameters, _ c: SelfAttentionCache, dY: Tensor, tokens: TokenSet,
        shape s: AttentionShape, dX: Tensor
    ) throws {
        let dqkv = try tensor(tokens.rows, 3 * s.inner)  // [N, 3·inner] = [dq | dk | dv]
        try attendBackward(
            c.core, p.toOut, dY: dY, queries: tokens, keys: tokens, shape: s,
            dQ: dqkv.columns(0, s.inner), dK: dqkv.columns(s.inner, s.inner), dV: dqkv.columns(2 * s.inner, s.inner))
        for part in 0..<3 { rotate(dqkv.columns(part * s.inner, s.inner), tokens, s, inverse: true) }
        let dLn = try tensor(tokens.rows, dY.columns)
        linearBackward(dqkv, x: c.ln.out.matrix, rows: tokens.rows, p.toQKV, dX: dLn.matrix)
        layerNormBackward(c.ln, p.norm, dOut: dLn, dX: dX)
    }
}
