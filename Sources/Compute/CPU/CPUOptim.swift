import Foundation

extension CPUDevice {
    public func adamWStep(param: Tensor, grad: Tensor, m: Tensor, v: Tensor, _ hp: AdamWParams) {
        let wp = f(param)
        let gp = f(grad)
        let mp = f(m)
        let vp = f(v)
        let b1 = hp.beta1
        let b2 = hp.beta2
        let bc1 = 1 - Float(pow(Double(b1), Double(hp.step)))
        let bc2sqrt = Float((1 - pow(Double(b2), Double(hp.step))).squareRoot())
        let stepSize = hp.lr / bc1
        let decay = 1 - hp.lr * hp.weightDecay
        let eps = hp.eps
        pool.run(param.count, grain: 1 << 14) { _, r in
            for j in r {
                let g = gp[j]
                let mj = b1 * mp[j] + (1 - b1) * g
                let vj = b2 * vp[j] + (1 - b2) * g * g
                mp[j] = mj
                vp[j] = vj
                wp[j] = wp[j] * decay - stepSize * mj / (vj.squareRoot() / bc2sqrt + eps)
            }
        }
    }

    /// Two passes: moments and the update direction s (kept in the grad buffer, which the step
    /// consumes), then the trust-ratio-scaled update. Norms are Float64 sums over fixed chunks.
    public func lambStep(param: Tensor, grad: Tensor, m: Tensor, v: Tensor, sparseRows: Bool, _ hp: LAMBParams) {
        // A row range narrows every buffer to those rows (all rows when nil).
        let span = LAMBSpan(param, hp.rows)
        let wp = f(param) + span.base
        let gp = f(grad) + span.base
        let mp = f(m) + span.base
        let vp = f(v) + span.base
        let n = span.count
        let width = sparseRows ? param.columns : n
        let rows = n / max(width, 1)
        guard n > 0 else { return }
        let b1 = hp.beta1
        let b2 = hp.beta2
        let eps = hp.eps
        let wd = hp.weightDecay
        // Rows with an all-zero gradient (sparse tables only): untouched, moments reset.
        var touched = [Bool](repeating: true, count: rows)
        if sparseRows {
            touched.withUnsafeMutableBufferPointer { tp in
                let t = tp.baseAddress!
                pool.run(rows, grain: 256) { _, r in
                    for row in r {
                        var any = false
                        let g = gp + row * width
                        for j in 0..<width where g[j] != 0 {
                            any = true
                            break
                        }
                        t[row] = any
                    }
                }
            }
        }
        let chunks = pool.chunks(rows, grain: max(1, 4096 / max(width, 1)))
        var wNorm = [Double](repeating: 0, count: max(chunks, 1))
        var sNorm = [Double](repeating: 0, count: max(chunks, 1))
        touched.withUnsafeBufferPointer { tp in
            wNorm.withUnsafeMutableBufferPointer { wn in
                sNorm.withUnsafeMutableBufferPointer { sn in
                    let t = tp.baseAddress!
                    let wnp = wn.baseAddress!
                    let snp = sn.baseAddress!
                    pool.run(rows, grain: max(1, 4096 / max(width, 1))) { ci, r in
                        var ws: Double = 0
                        var ss: Double = 0
                        for row in r {
                            let keepMoments = t[row]
                            for j in (row * width)..<((row + 1) * width) {
                                let g = gp[j]
                                let mj: Float = keepMoments ? b1 * mp[j] + (1 - b1) * g : 0
                                let vj: Float = keepMoments ? b2 * vp[j] + (1 - b2) * g * g : 0
                                mp[j] = mj
                                vp[j] = vj
                                let s = mj / (vj.squareRoot() + eps) + wd * wp[j]
                                gp[j] = s
                                ws += Double(wp[j]) * Double(wp[j])
                                ss += Double(s) * Double(s)
                            }
                        }
                        wnp[ci] = ws
                        snp[ci] = ss
                    }
                }
            }
        }
        let wn = min(wNorm.reduce(0, +).squareRoot(), Double(hp.maxWeightNorm))
        let sn = sNorm.reduce(0, +).squareRoot()
        let ratio: Float = (wn > 0 && sn > 0) ? Float(wn / sn) : 1
        let stepSize = hp.lr * ratio
        touched.withUnsafeBufferPointer { tp in
            let t = tp.baseAddress!
            pool.run(rows, grain: max(1, 4096 / max(width, 1))) { _, r in
                for row in r where t[row] {
                    for j in (row * width)..<((row + 1) * width) { wp[j] -= stepSize * gp[j] }
                }
            }
        }
    }
}
