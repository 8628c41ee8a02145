extension CPUDevice {
    public func gatherRows(table: Tensor, indices: Tensor, out: Tensor, accumulate: Bool) {
        let tp = f(table)
        let ip = i(indices)
        let op = f(out)
        let d = table.columns
        let n = indices.count
        pool.run(n, grain: 512) { _, r in
            for row in r {
                let src = tp + Int(ip[row]) * d
                let dst = op + row * d
                if accumulate {
                    for j in 0..<d { dst[j] += src[j] }
                } else {
                    dst.update(from: src, count: d)
                }
            }
        }
    }

    /// Parallel over columns, rows in index order: every table element receives its contributions
    /// in the same order each run, so the result is bitwise reproducible.
    public func scatterAddRows(_ dOut: Tensor, indices: Tensor, into dTable: Tensor) {
        let gp = f(dOut)
        let ip = i(indices)
        let tp = f(dTable)
        let d = dTable.columns
        let n = indices.count
        pool.run(d, grain: 8) { _, cols in
            for row in 0..<n {
                let dst = tp + Int(ip[row]) * d
                let src = gp + row * d
                for j in cols { dst[j] += src[j] }
            }
        }
    }
}
