import CPUKernels

/// Layer norm on the host: rows split over the workers, each range in CPUKernels (`cpu_layer_norm.c`);
/// the parameter gradients summed in fixed row blocks, so the bits do not depend on the thread count.
extension CPUDevice {
    public func layerNormForward(
        x: Tensor, gamma: Tensor, beta: Tensor, out: Tensor, mean: Tensor, rstd: Tensor, eps: Float
    ) {
        let xp = f(x)
        let gp = f(gamma)
        let bp = f(beta)
        let op = f(out)
        let mp = f(mean)
        let rp = f(rstd)
        let d = gamma.count
        let rows = x.count / max(d, 1)
        pool.run(rows, grain: 64) { _, r in
            let o = r.lowerBound
            poyo_layer_norm_forward(xp + o * d, gp, bp, op + o * d, mp + o, rp + o, r.count, d, eps)
        }
    }

    public func layerNormBackward(
        dOut: Tensor, x: Tensor, gamma: Tensor, mean: Tensor, rstd: Tensor,
        dX: Tensor, dGamma: Tensor, dBeta: Tensor
    ) {
        let gop = f(dOut)
        let xp = f(x)
        let gp = f(gamma)
        let mp = f(mean)
        let rp = f(rstd)
        let dxp = f(dX)
        let d = gamma.count
        let rows = x.count / max(d, 1)
        // dX: rows are independent.
        pool.run(rows, grain: 64) { _, r in
            let o = r.lowerBound
            poyo_layer_norm_backward_input(gop + o * d, xp + o * d, gp, mp + o, rp + o, dxp + o * d, r.count, d)
        }
        // dGamma, dBeta: fixed blocks of rows (independent of the thread count) each sum their
        // rows in order; the block partials are then added in block order. Reproducible bits.
        let dgp = f(dGamma)
        let dbp = f(dBeta)
        let blockRows = 256
        let blocks = (rows + blockRows - 1) / blockRows
        guard blocks > 0 else { return }
        let partial = UnsafeMutablePointer<Float>.allocate(capacity: blocks * 2 * d)
        defer { partial.deallocate() }
        pool.run(blocks, grain: 1) { _, r in
            for blk in r {
                let pg = partial + blk * 2 * d
                let pb = pg + d
                pg.update(repeating: 0, count: 2 * d)
                let first = blk * blockRows
                let count = min(rows, first + blockRows) - first
                poyo_layer_norm_backward_params(
                    gop + first * d, xp + first * d, mp + first, rp + first, pg, pb, count, d)
            }
        }
        for blk in 0..<blocks {
            let pg = partial + blk * 2 * d
            let pb = pg + d
            for j in 0..<d {
                dgp[j] += pg[j]
                dbp[j] += pb[j]
            }
        }
    }
}
