extension CPUDevice {
    /// Σw and the weighted sum, in Float64 for a loss that does not depend on summation order.
    private func weightedMSESums(pred: Tensor, target: Tensor, weights: Tensor) -> (Double, Double) {
        let pp = f(pred)
        let tp = f(target)
        let wp = f(weights)
        let n = weights.count
        let d = pred.count / max(n, 1)
        var sw: Double = 0
        var sl: Double = 0
        for r in 0..<n where wp[r] != 0 {
            var e: Double = 0
            for j in 0..<d {
                let diff = Double(pp[r * d + j]) - Double(tp[r * d + j])
                e += diff * diff
            }
            sw += Double(wp[r])
            sl += Double(wp[r]) * e / Double(d)
        }
        return (sw, sl)
    }

    public func weightedMSEForward(pred: Tensor, target: Tensor, weights: Tensor, loss: Tensor) {
        let (sw, sl) = weightedMSESums(pred: pred, target: target, weights: weights)
        f(loss)[0] = sw > 0 ? Float(sl / sw) : 0
    }

    public func weightedMSEBackward(pred: Tensor, target: Tensor, weights: Tensor, dPred: Tensor) {
        let pp = f(pred)
        let tp = f(target)
        let wp = f(weights)
        let gp = f(dPred)
        let n = weights.count
        let d = pred.count / max(n, 1)
        var sw: Double = 0
        for r in 0..<n { sw += Double(wp[r]) }
        guard sw > 0 else { return }
        let c = Float(2 / (Double(d) * sw))
        for r in 0..<n where wp[r] != 0 {
            let w = wp[r] * c
            for j in 0..<d { gp[r * d + j] += w * (pp[r * d + j] - tp[r * d + j]) }
        }
    }
}
