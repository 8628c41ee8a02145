import Foundation

/// Embedding rows: `embedding.cl` (CPU: CPUEmbedding.swift).
extension KernelDevice {
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
                [.mem(try mem(indices, "scatterAddRows")), .i(n), .mem(keys.memory), .i(p)])
            try launch(.embedding, "bitonic_local", global: p / 2, [.mem(keys.memory)])
            var k = 4 * wg
            while k <= p {
                var j = k / 2
                while j >= 2 * wg {
                    try launch(.embedding, "bitonic_step", global: p, [.mem(keys.memory), .i(j), .i(k)])
                    j /= 2
                }
                try launch(.embedding, "bitonic_merge_local", global: p / 2, [.mem(keys.memory), .i(k)])
                k *= 2
            }
            try launch(
                .embedding, "scatter_segments", global: n * d,
                [
                    .mem(keys.memory), .i(n), .mem(try mem(dOut, "scatterAddRows")),
                    .mem(try mem(dTable, "scatterAddRows")),
                    .i(dTable.count / d), .i(d),
                ])
        }
    }
}
