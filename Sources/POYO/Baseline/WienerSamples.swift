import POYOData

/// Which sample weights the Wiener filter is fitted with.
public enum WienerWeights: String, Sendable, CaseIterable {
    /// POYO's loss weights: the product of the weights of the interval sets holding a sample, the
    /// tokenizer's own table (weight-0 samples, e.g. outlier segments, are left out).
    case loss
    /// Every sample with a finite target weighs 1.
    case none
}

/// A recording's behaviour samples as the Wiener filter sees them: `[T]` times, `[T, dim]`
/// normalised targets (0 where not finite), `[T]` fit weights, and `[T]` flags of the samples a
/// selection scores (eval mask and weight above 0) and of those with finite targets (the fallback
/// when the mask covers none).
struct WienerSamples: Sendable {
    let dim: Int
    let times: [Double]
    let targets: [Double]
    let weights: [Double]
    let scored: [Bool]
    let finite: [Bool]

    init(_ r: Recording, weights mode: WienerWeights) {
        let (target, lossWeight, evalFlag) = Tokenizer.sampleTables(r)
        dim = r.behaviourDim
        times = r.behaviourTimes
        targets = target.map(Double.init)
        var finite = [Bool](repeating: true, count: r.sampleCount)
        for i in 0..<r.sampleCount {
            for k in 0..<dim where !r.behaviour[i * dim + k].isFinite { finite[i] = false }
        }
        // The tokenizer gives non-finite targets weight 0 already; `none` keeps just that rule.
        let w = mode == .loss ? lossWeight.map(Double.init) : finite.map { $0 ? 1.0 : 0.0 }
        weights = w
        scored = evalFlag.indices.map { evalFlag[$0] && w[$0] > 0 }
        self.finite = finite
    }

    /// Indices of the samples inside `domain`, ascending.
    func indices(in domain: Intervals) -> [Int] {
        times.indices.filter { domain.contains(times[$0]) }
    }
}
