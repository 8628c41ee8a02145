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
            for row in r {
                let xr = xp + row * d
                let orow = op + row * d
                var s: Float = 0
                for j in 0..<d { s += xr[j] }
                let mu = s / Float(d)
                var v: Float = 0
                for j in 0..<d {
                    let c = xr[j] - mu
                    v += c * c
                }
                let rs = 1 / (v / Float(d) + eps).squareRoot()
                for j in 0..<d { orow[j] = (xr[j] - mu) * rs * gp[j] + bp[j] }
                mp[row] = mu
                rp[row] = rs
            }
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
            for row in r {
                let g = gop + row * d
                let xr = xp + row * d
                let dx = dxp + row * d
                let mu = mp[row]
                let rs = rp[row]
                var sumDy: Float = 0
                var sumDyXhat: Float = 0
                for j in 0..<d {
                    let dy = g[j] * gp[j]
                    sumDy += dy
                    sumDyXhat += dy * (xr[j] - mu) * rs
                }
                let invD = 1 / Float(d)
                for j in 0..<d {
                    let xhat = (xr[j] - mu) * rs
                    dx[j] += rs * (g[j] * gp[j] - invD * sumDy - xhat * invD * sumDyXhat)
                }
            }
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
                for row in (blk * blockRows)..<min(rows, (blk + 1) * blockRows) {
                    let g = gop + row * d
                    let xr = xp + row * d
                    let mu = mp[row]
                    let rs = rp[row]
                    for j in 0..<d {
                        pg[j] += g[j] * (xr[j] - mu) * rs
                        pb[j] += g[j]
                    }
                }
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
