import Compute
import Foundation
import POYO
import POYOData
import TestSupport
import Testing

/// The Wiener filter's pieces against independent computations: the weighted, standardised ridge
/// solve against a Householder QR least-squares in Float64, its spike-count features against
/// hand-placed spikes, and its weights against samples of weight 0.
@Suite struct WienerFilterTests {
    /// Least squares `min ‖A x − b‖` for `A` `[m, n]` (m ≥ n, full column rank), `b` `[m, k]`, by
    /// Householder QR in Float64: the reference, sharing nothing with the normal equations.
    static func leastSquares(_ a: [Double], _ b: [Double], m: Int, n: Int, k: Int) -> [Double] {
        var r = a
        var y = b
        for col in 0..<n {
            var norm = 0.0
            for i in col..<m { norm += r[i * n + col] * r[i * n + col] }
            norm = norm.squareRoot()
            let alpha = r[col * n + col] > 0 ? -norm : norm
            var v = [Double](repeating: 0, count: m)
            for i in col..<m { v[i] = r[i * n + col] }
            v[col] -= alpha
            let vv = v[col..<m].reduce(0) { $0 + $1 * $1 }
            guard vv > 0 else { continue }
            // Reflect R's remaining columns and every right-hand side: x ← x − 2 v (vᵀx)/(vᵀv).
            for j in col..<n {
                let d = (col..<m).reduce(0.0) { $0 + v[$1] * r[$1 * n + j] } * 2 / vv
                for i in col..<m { r[i * n + j] -= d * v[i] }
            }
            for j in 0..<k {
                let d = (col..<m).reduce(0.0) { $0 + v[$1] * y[$1 * k + j] } * 2 / vv
                for i in col..<m { y[i * k + j] -= d * v[i] }
            }
        }
        var x = [Double](repeating: 0, count: n * k)
        for j in 0..<k {
            for row in stride(from: n - 1, through: 0, by: -1) {
                var s = y[row * k + j]
                for c in (row + 1)..<n { s -= r[row * n + c] * x[c * k + j] }
                x[row * k + j] = s / r[row * n + row]
            }
        }
        return x
    }

    /// The weighted ridge of `StandardisedRidge`'s documentation, written out plainly: z-score the
    /// columns with the weighted statistics of the rows of weight > 0 (a zero-variance column drops
    /// out), stack √w·[1, z] over √(λW)·[0, I], solve by QR, return (coefficients `[p, k]`, intercept).
    static func reference(
        x: [Double], y: [Double], w: [Double], n: Int, p: Int, k: Int, lambda: Double
    ) -> (coefficients: [Double], intercept: [Double]) {
        let rows = (0..<n).filter { w[$0] > 0 }
        let total = rows.reduce(0.0) { $0 + w[$1] }
        let mean = (0..<p).map { j in rows.reduce(0.0) { $0 + w[$1] * x[$1 * p + j] } / total }
        let std = (0..<p).map { j in
            (rows.reduce(0.0) { $0 + w[$1] * (x[$1 * p + j] - mean[j]) * (x[$1 * p + j] - mean[j]) } / total)
                .squareRoot()
        }
        let kept = (0..<p).filter { std[$0] > 1e-9 }
        let cols = kept.count + 1
        var a: [Double] = []
        var b: [Double] = []
        for i in rows {
            let s = w[i].squareRoot()
            a.append(s)
            for j in kept { a.append(s * (x[i * p + j] - mean[j]) / std[j]) }
            for o in 0..<k { b.append(s * y[i * k + o]) }
        }
        for (c, _) in kept.enumerated() {
            var penalty = [Double](repeating: 0, count: cols)
            penalty[c + 1] = (lambda * total).squareRoot()
            a += penalty
            b += [Double](repeating: 0, count: k)
        }
        let solution = leastSquares(a, b, m: rows.count + kept.count, n: cols, k: k)
        var coefficients = [Double](repeating: 0, count: p * k)
        var intercept = Array(solution[0..<k])
        for (c, j) in kept.enumerated() {
            for o in 0..<k {
                coefficients[j * k + o] = solution[(c + 1) * k + o] / std[j]
                intercept[o] -= mean[j] * coefficients[j * k + o]
            }
        }
        return (coefficients, intercept)
    }

    /// Largest difference over the largest reference magnitude.
    static func normwise(_ a: RidgeSolution, _ b: (coefficients: [Double], intercept: [Double])) -> Double {
        let got = a.coefficients + a.intercept
        let want = b.coefficients + b.intercept
        let worst = zip(got, want).map { abs($0 - $1) }.max() ?? .infinity
        return worst / max(want.map(abs).max() ?? 0, 1e-300)
    }

    /// A random count design `[n, p]` (column 3 constant), targets `[n, 2]` that depend on it, and
    /// weights of which about one in five is 0 and whose others span 0.1 to 5.
    static func randomProblem(n: Int, p: Int, seed: UInt64) -> (x: [Double], y: [Double], w: [Double]) {
        var rng = SeededRNG(seed: seed)
        var x = [Double](repeating: 0, count: n * p)
        for i in 0..<n {
            for j in 0..<p { x[i * p + j] = j == 3 ? 2 : Double(rng.int(below: 1 + 2 * (j % 4 + 1))) }
        }
        let truth = (0..<(p * 2)).map { _ in rng.uniform(-1, 1) }
        var y = [Double](repeating: 0, count: n * 2)
        var w = [Double](repeating: 0, count: n)
        for i in 0..<n {
            for o in 0..<2 {
                y[i * 2 + o] = (0..<p).reduce(0.3) { $0 + x[i * p + $1] * truth[$1 * 2 + o] } + rng.normal()
            }
            w[i] = rng.uniform() < 0.2 ? 0 : rng.uniform(0.1, 5)
        }
        return (x, y, w)
    }

    @Test func weightedStandardisedRidgeMatchesHouseholderQR() throws {
        let (n, p, lambda) = (300, 14, 0.05)
        let (x, y, w) = Self.randomProblem(n: n, p: p, seed: 7)
        // Summed in two parts, as the baseline sums a long design in chunks.
        var m = RidgeMoments(columns: p, outputs: 2)
        m.add(rows: Array(x[0..<(100 * p)]), targets: Array(y[0..<200]), weights: Array(w[0..<100]))
        m.add(rows: Array(x[(100 * p)...]), targets: Array(y[200...]), weights: Array(w[100...]))
        #expect(m.samples == w.filter { $0 > 0 }.count)
        let system = try StandardisedRidge(m)
        let factor = try system.factor(ridge: lambda)
        let full = try system.solve(factor, leading: p)
        let want = Self.reference(x: x, y: y, w: w, n: n, p: p, k: 2, lambda: lambda)
        // Both in Float64 on a well-conditioned system: agreement to 1e-9 of the largest value.
        let difference = Self.normwise(full, want)
        #expect(difference <= 1e-9, "normwise difference \(difference)")
        #expect(full.coefficients[3 * 2] == 0 && full.coefficients[3 * 2 + 1] == 0, "zero-variance column")
        #expect((full.coefficients + full.intercept).allSatisfy { $0.isFinite })

        // A leading block of columns from the same factor is the ridge on those columns alone.
        let leading = 9
        let sub = try system.solve(factor, leading: leading)
        let xs = (0..<n).flatMap { i in x[(i * p)..<(i * p + leading)] }
        let wantSub = Self.reference(x: xs, y: y, w: w, n: n, p: leading, k: 2, lambda: lambda)
        #expect(Self.normwise(sub, wantSub) <= 1e-9, "leading block: \(Self.normwise(sub, wantSub))")

        // The weights matter: the reference without them is a different fit.
        let unweighted = Self.reference(
            x: x, y: y, w: [Double](repeating: 1, count: n), n: n, p: p, k: 2, lambda: lambda)
        #expect(Self.normwise(full, unweighted) > 1e-3, "the fit ignores the sample weights")
        print(String(format: "weighted standardised ridge vs Householder QR: normwise %.2e", difference))
    }

    @Test func lapackSolvesRejectASingularSystem() throws {
        #expect(throws: LinearAlgebra.Failure.self) {
            try LinearAlgebra.solveSymmetricPositiveDefinite([1, 1, 1, 1], [1, 2], n: 2, nrhs: 1)
        }
        #expect(throws: LinearAlgebra.Failure.self) { try LinearAlgebra.cholesky([1, 1, 1, 1], n: 2) }
    }

    @Test func anAllZeroWeightDesignIsAnErrorNotANaN() throws {
        var m = RidgeMoments(columns: 2, outputs: 1)
        m.add(rows: [1, 2, 3, 4], targets: [1, 2], weights: [0, 0])
        #expect(throws: WienerError.self) { try StandardisedRidge(m) }
    }

    @Test func causalBinsNeverSeeSpikesAtOrAfterT() {
        // bin 0.25 s and t = 1 keep every edge exact in binary.
        let t = 1.0
        let before: [Double] = [0.25, 0.5, 0.74, 0.75, 0.9]
        let after: [Double] = [1.0, 1.1, 1.25, 1.6]
        let bins = SpikeBins(unitSpikes: [before + after, [0.8]], bin: 0.25)
        var row = [Double](repeating: -1, count: bins.columns(past: 3, future: 2))
        row.withUnsafeMutableBufferPointer { bins.row(at: t, past: 3, future: 0, into: $0.baseAddress!) }
        // Bin j covers [t − (j+1)/4, t − j/4), unit-major within a bin: [u0, u1] per bin.
        #expect(Array(row.prefix(6)) == [2, 1, 2, 0, 1, 0], "\(row)")
        // The same without any spike at or after t: identical.
        let onlyBefore = SpikeBins(unitSpikes: [before, [0.8]], bin: 0.25)
        var row2 = [Double](repeating: 0, count: 6)
        row2.withUnsafeMutableBufferPointer { onlyBefore.row(at: t, past: 3, future: 0, into: $0.baseAddress!) }
        #expect(Array(row.prefix(6)) == row2)
        // Acausal: future bin j covers [t + j/4, t + (j+1)/4); the spike at t is in future bin 0.
        row.withUnsafeMutableBufferPointer { bins.row(at: t, past: 3, future: 2, into: $0.baseAddress!) }
        #expect(row == [2, 1, 2, 0, 1, 0, 2, 0, 1, 0], "\(row)")
        var row3 = [Double](repeating: 0, count: 10)
        row3.withUnsafeMutableBufferPointer { onlyBefore.row(at: t, past: 3, future: 2, into: $0.baseAddress!) }
        #expect(row3 != row, "acausal bins must see the spikes after t")
    }

    @Test func causalBinsOnRandomSpikesMatchCountsOfTheSpikesBeforeT() {
        var rng = SeededRNG(seed: 3)
        let units = (0..<4).map { _ in (0..<200).map { _ in rng.uniform(0, 20) }.sorted() }
        let bins = SpikeBins(unitSpikes: units, bin: 0.02)
        for _ in 0..<50 {
            let t = rng.uniform(1, 19)
            var row = [Double](repeating: 0, count: bins.columns(past: 10, future: 0))
            row.withUnsafeMutableBufferPointer { bins.row(at: t, past: 10, future: 0, into: $0.baseAddress!) }
            // Only spikes strictly before t, within the 10 bins: every one counted once.
            let expected = units.map { $0.filter { $0 < t && $0 >= t - 10 * 0.02 }.count }
            for u in 0..<4 {
                let counted = (0..<10).reduce(0.0) { $0 + row[$1 * 4 + u] }
                #expect(Int(counted) == expected[u])
            }
        }
    }

    /// One small synthetic session with a weight-0 interval over part of its training domain.
    static func sessionWithGarbage(_ garbage: Bool) -> Recording {
        var c = SyntheticConfig()
        c.trialsPerSession = 20
        c.unitRange = 12...12
        var r = SyntheticDataset.generate(sessions: 1, heldOut: 0, seed: 5, config: c)[0]
        let train = r.trainDomain.items[0]
        let bad = Intervals([Interval(train.start + 2, train.start + 6)])
        r.lossWeights.append(WeightedIntervals(name: "outliers", intervals: bad, weight: 0))
        if garbage {
            for (i, t) in r.behaviourTimes.enumerated() where bad.contains(t) {
                for k in 0..<r.behaviourDim { r.behaviour[i * r.behaviourDim + k] = 1e6 * Float(i % 7) - 3e6 }
            }
        }
        return r
    }

    @Test func weightZeroSamplesDoNotMoveTheFit() throws {
        var o = WienerBaseline.Options()
        o.history = 0.1
        o.ridge = 0.01
        let clean = try WienerBaseline.fit(.init(recording: Self.sessionWithGarbage(false)), options: o).filter
        let dirty = try WienerBaseline.fit(.init(recording: Self.sessionWithGarbage(true)), options: o).filter
        #expect(clean.solution == dirty.solution, "samples of weight 0 moved the fit")
        #expect(clean.solution.coefficients.contains { $0 != 0 })
        // Control: unweighted, the garbage does move it.
        o.weights = .none
        let a = try WienerBaseline.fit(.init(recording: Self.sessionWithGarbage(false)), options: o).filter
        let b = try WienerBaseline.fit(.init(recording: Self.sessionWithGarbage(true)), options: o).filter
        #expect(a.solution != b.solution)
    }
}
