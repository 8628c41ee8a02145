/// A fitted Wiener filter of one session: a linear map from spike counts in bins around a sample
/// time (`SpikeBins`: `past` bins ending at t, the current one included, and `future` bins from t)
/// to the normalised behaviour. Causal when `future` is 0.
public struct WienerFilter: Sendable {
    public let bins: SpikeBins
    public let choice: WienerChoice
    public let solution: RidgeSolution
    public let dim: Int

    public init(bins: SpikeBins, choice: WienerChoice, solution: RidgeSolution) {
        self.bins = bins
        self.choice = choice
        self.solution = solution
        self.dim = solution.intercept.count
    }

    public var features: Int { bins.columns(past: choice.past, future: choice.future) }

    /// Predictions for samples at `times`: `[times.count, dim]`.
    public func predict(times: [Double]) -> [Float] {
        let p = features
        var out = [Float](repeating: 0, count: times.count * dim)
        var row = [Double](repeating: 0, count: p)
        row.withUnsafeMutableBufferPointer { r in
            for (j, t) in times.enumerated() {
                bins.row(at: t, past: choice.past, future: choice.future, into: r.baseAddress!)
                for k in 0..<dim {
                    var s = solution.intercept[k]
                    for a in 0..<p where r[a] != 0 { s += r[a] * solution.coefficients[a * dim + k] }
                    out[j * dim + k] = Float(s)
                }
            }
        }
        return out
    }
}
