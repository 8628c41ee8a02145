import Foundation

/// Varlen attention, forward and backward: `attention.cl`, built per head dim (CPU: CPUAttention.swift).
extension KernelDevice {
    /// Dropout arguments shared by the attention kernels: use, seed, 24-bit threshold, 1/(1−p).
    private func dropoutArgs(_ spec: DropoutSpec) -> [KernelArg] {
        [
            .flag(spec.isActive), .ulong(spec.seed), .uint(DropoutMask.threshold(spec.p)),
            .float(spec.isActive ? 1 / (1 - spec.p) : 1),
        ]
    }

    private func viewArgs(_ v: MatrixView, _ op: String) throws -> [KernelArg] {
        [.mem(try mem(v.tensor, op)), .i(v.offset), .i(v.ld)]
    }

    /// Work-groups of `ATT_BQ` query rows × one head, each walking its windows' keys in tiles
    /// (flash attention, `attention.cl`); nq is the row count of `out`.
    public func attentionForward(
        q: MatrixView, k: MatrixView, v: MatrixView, out: Tensor, lse: Tensor,
        queryOffsets: Tensor, keyOffsets: Tensor, heads: Int, headDim: Int,
        scale: Float, dropout: DropoutSpec
    ) {
        let nq = out.count / max(heads * headDim, 1)
        let windows = queryOffsets.count - 1
        guard windows > 0, headDim > 0 else { return }
        perform {
            let op = "attentionForward"
            try launch(
                .attention(headDim: headDim), "attention_forward",
                global: Self.tiled(nq, ProgramID.attentionQueryTile, heads),
                local: ProgramID.attentionQueryTile,
                try viewArgs(q, op) + viewArgs(k, op) + viewArgs(v, op)
                    + [
                        .mem(try mem(out, op)), .mem(try mem(lse, op)), .mem(try mem(queryOffsets, op)),
                        .mem(try mem(keyOffsets, op)), .i(windows), .i(nq), .i(heads), .float(scale),
                    ]
                    + dropoutArgs(dropout))
        }
    }

    /// D = dOut·out per (row, head), then dQ per query tile and dK, dV per key tile, each summing over
    /// its windows by recomputing probabilities from lse: no atomics.
    public func attentionBackward(
        dOut: Tensor, q: MatrixView, k: MatrixView, v: MatrixView, out: Tensor, lse: Tensor,
        dQ: MatrixView, dK: MatrixView, dV: MatrixView,
        queryOffsets: Tensor, keyOffsets: Tensor, heads: Int, headDim: Int,
        scale: Float, dropout: DropoutSpec
    ) {
        let nq = out.count / max(heads * headDim, 1)
        let windows = queryOffsets.count - 1
        // Key rows the views can hold; rows past keyOffsets[windows] are skipped by the kernel.
        let nkRows = min(k.rows, v.rows, dK.rows, dV.rows)
        guard windows > 0, headDim > 0 else { return }
        perform {
            let op = "attentionBackward"
            let id = ProgramID.attention(headDim: headDim)
            let g = try mem(dOut, op)
            let l = try mem(lse, op)
            let qo = try mem(queryOffsets, op)
            let ko = try mem(keyOffsets, op)
            let dvec = try scratch(max(nq * heads, 1) * 4)  // [nq, heads]
            try launch(
                id, "attention_backward_dot", global: nq * heads,
                [.mem(g), .mem(try mem(out, op)), .mem(dvec.memory), .i(nq), .i(heads)])
            let qkv = try viewArgs(q, op) + viewArgs(k, op) + viewArgs(v, op)
            try launch(
                id, "attention_backward_dq", global: Self.tiled(nq, ProgramID.attentionQueryTile, heads),
                local: ProgramID.attentionQueryTile,
                qkv + [.mem(g), .mem(l), .mem(dvec.memory)] + viewArgs(dQ, op)
                    + [.mem(qo), .mem(ko), .i(windows), .i(nq), .i(heads), .float(scale)] + dropoutArgs(dropout))
            try launch(
                id, "attention_backward_dkv", global: Self.tiled(nkRows, ProgramID.attentionKeyTile, heads),
                local: ProgramID.attentionKeyTile,
                qkv + [.mem(g), .mem(l), .mem(dvec.memory)] + viewArgs(dK, op) + viewArgs(dV, op)
                    + [.mem(qo), .mem(ko), .i(windows), .i(nkRows), .i(heads), .float(scale)] + dropoutArgs(dropout))
        }
    }

    /// Work-items for tiles of `tile` rows over `rows` rows, per head: whole work-groups.
    static func tiled(_ rows: Int, _ tile: Int, _ heads: Int) -> Int { (rows + tile - 1) / tile * tile * heads }
}
