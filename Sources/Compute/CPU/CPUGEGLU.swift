import Foundation

extension CPUDevice {
    public func gegluForward(h: Tensor, out: Tensor) {
        let hp = f(h)
        let op = f(out)
        let width = out.columns
        let rows = out.count / max(width, 1)
        pool.run(rows, grain: 32) { _, r in
            for row in r {
                let a = hp + row * 2 * width
                let g = a + width
                let o = op + row * width
                for j in 0..<width {
                    let gv = g[j]
                    o[j] = a[j] * 0.5 * gv * (1 + erff(gv * Float(0.70710678118654752)))
                }
            }
        }
    }

    public func gegluBackward(dOut: Tensor, h: Tensor, dH: Tensor) {
        let gop = f(dOut)
        let hp = f(h)
        let dhp = f(dH)
        let width = dOut.columns
        let rows = dOut.count / max(width, 1)
        let invSqrt2 = Float(0.70710678118654752)
        let invSqrt2Pi = Float(0.39894228040143268)
        pool.run(rows, grain: 32) { _, r in
            for row in r {
                let a = hp + row * 2 * width
                let g = a + width
                let da = dhp + row * 2 * width
                let dg = da + width
                let dy = gop + row * width
                for j in 0..<width {
                    let gv = g[j]
                    let cdf = 0.5 * (1 + erff(gv * invSqrt2))
                    let gelu = gv * cdf
                    let dgelu = cdf + gv * invSqrt2Pi * expf(-0.5 * gv * gv)
                    da[j] += dy[j] * gelu
                    dg[j] += dy[j] * a[j] * dgelu
                }
            }
        }
    }
}
