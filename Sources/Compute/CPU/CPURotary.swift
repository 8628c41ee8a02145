import CPUKernels

/// Rotary embedding on the host: rows split over the workers, each range in CPUKernels (`cpu_rotary.c`).
extension CPUDevice {
    public func rotary(_ x: MatrixView, cos: Tensor, sin: Tensor, heads: Int, headDim: Int, inverse: Bool) {
        let xp = f(x)
        let cp = f(cos)
        let sp = f(sin)
        let pairs = cos.columns
        let ld = x.ld
        let rows = cos.count / max(pairs, 1)
        pool.run(rows, grain: 128) { _, r in
            poyo_rotary(
                xp + r.lowerBound * ld, ld, cp + r.lowerBound * pairs, sp + r.lowerBound * pairs, r.count, pairs,
                heads, headDim, inverse ? 1 : 0)
        }
    }
}
