extension CPUDevice {
    public func rotary(_ x: MatrixView, cos: Tensor, sin: Tensor, heads: Int, headDim: Int, inverse: Bool) {
        let xp = f(x)
        let cp = f(cos)
        let sp = f(sin)
        let pairs = cos.columns
        let ld = x.ld
        let rows = cos.count / max(pairs, 1)
        let sign: Float = inverse ? -1 : 1
        pool.run(rows, grain: 128) { _, r in
            for row in r {
                let c = cp + row * pairs
                let s = sp + row * pairs
                for h in 0..<heads {
                    let v = xp + row * ld + h * headDim
                    for p in 0..<pairs {
                        let x0 = v[2 * p]
                        let x1 = v[2 * p + 1]
                        let sn = sign * s[p]
                        v[2 * p] = x0 * c[p] - x1 * sn
                        v[2 * p + 1] = x1 * c[p] + x0 * sn
                    }
                }
            }
        }
    }
}
