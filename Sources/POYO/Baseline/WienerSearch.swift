import Compute
import POYOData

/// The values a Wiener filter is fitted with: bins of history (the current bin included), bins of
/// look-ahead (0: causal) and the relative ridge λ.
public struct WienerChoice: Sendable, Equatable {
    public var past: Int
    public var future: Int
    public var ridge: Double

    public init(past: Int, future: Int, ridge: Double) {
        self.past = past
        self.future = future
        self.ridge = ridge
    }
}

/// Scores candidate designs of one recording by the plan's rounds, and holds what the final fit needs.
///
/// The candidates of one call share a design of `past` + `future` bins and differ in how many of
/// its leading bins they use (shorter histories, or shorter horizons after a fixed history), so the
/// moments are formed once per call, and each round and λ needs one Cholesky factor whose leading
/// blocks solve every candidate.
struct WienerSearch {
    let bins: SpikeBins
    let samples: WienerSamples
    let plan: WienerSelectionPlan
    /// Rows per block of the design while summing (bounds the memory of a long history).
    static let chunk = 1024

    struct Outcome {
        /// Moments of the whole fit domain (every block).
        var total: RidgeMoments
        /// `[candidate][λ]` pooled selection R² (empty when the plan has no rounds).
        var scores: [[Double]]
        /// Selection samples scored.
        var scoredSamples: Int
        /// The time the scored samples came from, round by round (what the selection saw).
        var scoredDomains: [Intervals] = []
    }

    /// `leading[c]`: bins of candidate c (a leading block of the `past` + `future` bins).
    func run(past: Int, future: Int, leading: [Int], ridges: [Double]) throws -> Outcome {
        let p = bins.columns(past: past, future: future)
        let d = samples.dim
        var blockMoments: [RidgeMoments] = []
        for block in plan.blocks {
            var m = RidgeMoments(columns: p, outputs: d)
            let rows = samples.indices(in: block).filter { samples.weights[$0] > 0 }
            var at = 0
            while at < rows.count {
                let part = Array(rows[at..<min(at + Self.chunk, rows.count)])
                at += part.count
                m.add(
                    rows: design(part, past: past, future: future), targets: part.flatMap(target),
                    weights: part.map { samples.weights[$0] })
            }
            blockMoments.append(m)
        }
        let total = blockMoments.dropFirst().reduce(blockMoments[0], +)
        guard !plan.rounds.isEmpty, leading.count * ridges.count > 1 else {
            return Outcome(total: total, scores: [], scoredSamples: 0)
        }
        // The samples each round scores: the eval mask's (weight above 0), or every finite one when
        // the mask covers none of the held-out time.
        var held = plan.rounds.map { samples.indices(in: $0.heldOut).filter { samples.scored[$0] } }
        if held.allSatisfy(\.isEmpty) {
            held = plan.rounds.map { samples.indices(in: $0.heldOut).filter { samples.finite[$0] } }
        }
        let c = leading.count
        let l = ridges.count
        // `[candidate][λ]` predictions and targets of every scored sample, pooled over rounds.
        var predicted = [[Double]](repeating: [], count: c * l)
        var targets: [Double] = []
        var seen: [Intervals] = []
        for (r, round) in plan.rounds.enumerated() where !held[r].isEmpty {
            let fit = round.leaveOut.map { total - blockMoments[$0] } ?? total
            guard fit.weight > 0 else { continue }
            let ridge = try StandardisedRidge(fit)
            seen.append(round.heldOut)
            let x = design(held[r], past: past, future: future)
            targets += held[r].flatMap(target)
            for (j, lambda) in ridges.enumerated() {
                let f = try factor(ridge, lambda)
                // Every candidate's coefficients side by side, zero past its leading block: one
                // product predicts them all. `[p, c·d]`, intercepts `[c·d]`.
                var b = [Double](repeating: 0, count: p * c * d)
                var intercepts = [Double](repeating: 0, count: c * d)
                for (k, n) in leading.enumerated() {
                    let s = try ridge.solve(f, leading: n * bins.units)
                    for i in 0..<(n * bins.units) {
                        for o in 0..<d { b[i * c * d + k * d + o] = s.coefficients[i * d + o] }
                    }
                    for o in 0..<d { intercepts[k * d + o] = s.intercept[o] }
                }
                var out = [Double](repeating: 0, count: held[r].count * c * d)
                x.withUnsafeBufferPointer { xp in
                    b.withUnsafeBufferPointer { bp in
                        LinearAlgebra.multiply(
                            m: held[r].count, n: c * d, k: p, xp.baseAddress!, lda: p, bp.baseAddress!, ldb: c * d,
                            into: &out)
                    }
                }
                for k in 0..<c {
                    for i in 0..<held[r].count {
                        for o in 0..<d { predicted[k * l + j].append(out[(i * c + k) * d + o] + intercepts[k * d + o]) }
                    }
                }
            }
        }
        guard !targets.isEmpty else {
            throw WienerError.noSelectionSamples(
                "no finite sample in the selection split (\(plan.description)) to choose history and λ on")
        }
        let scores = (0..<c).map { k in
            (0..<l).map { j in r2Score(predictions: predicted[k * l + j], targets: targets, dim: d) }
        }
        return Outcome(total: total, scores: scores, scoredSamples: targets.count / d, scoredDomains: seen)
    }

    /// The factor for λ, or an error that says what to change.
    func factor(_ ridge: StandardisedRidge, _ lambda: Double) throws -> LinearAlgebra.Cholesky {
        do {
            return try ridge.factor(ridge: lambda)
        } catch let e as LinearAlgebra.Failure {
            throw WienerError.notSolvable("λ \(lambda): \(e)")
        }
    }

    /// `[rows.count, columns]` feature rows of the samples `rows`.
    func design(_ rows: [Int], past: Int, future: Int) -> [Double] {
        let p = bins.columns(past: past, future: future)
        var x = [Double](repeating: 0, count: rows.count * p)
        x.withUnsafeMutableBufferPointer { xp in
            for (i, s) in rows.enumerated() {
                bins.row(at: samples.times[s], past: past, future: future, into: xp.baseAddress! + i * p)
            }
        }
        return x
    }

    func target(_ i: Int) -> [Double] { Array(samples.targets[(i * samples.dim)..<((i + 1) * samples.dim)]) }

    /// The best (candidate, λ) by pooled R²; the first in order on ties.
    static func best(_ scores: [[Double]]) -> (candidate: Int, ridge: Int, r2: Double)? {
        var best: (Int, Int, Double)?
        for (k, row) in scores.enumerated() {
            for (j, v) in row.enumerated() where v.isFinite && v > (best?.2 ?? -.infinity) { best = (k, j, v) }
        }
        return best
    }
}
