import Compute
import Foundation
import POYOData

/// The decoding floor every paper reports: a ridge-regularised Wiener filter from binned spike
/// counts with lag history to the (normalised) behaviour, one per session.
///
/// Features of a behaviour sample at time t: for each unit and each lag l in 0..<lags, the spike
/// count in bin `b(t) − 1 − l` of a grid of `bin` seconds from the domain start (b(t) is the bin
/// holding t; the bins before it: the filter is causal), plus a constant. Fitted by ridge
/// regression on the samples of the training domain with finite targets, solved by LAPACK
/// (`LinearAlgebra.solveSymmetricPositiveDefinite`) in Float64.
public struct WienerFilter: Sendable {
    public var bin: Double
    public var lags: Int
    /// Ridge λ, relative to the mean diagonal of XᵀX (so one grid fits every session's scale).
    public var ridge: Double
    /// `[features, dim]` weights, the constant last.
    public private(set) var weights: [Double] = []
    public let units: Int
    public let dim: Int

    public var features: Int { units * lags + 1 }

    /// The relative ridge values `auto` chooses from, on the validation split.
    public static let ridgeGrid: [Double] = [1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1, 10]

    public init(units: Int, dim: Int, bin: Double = 0.02, lags: Int = 7, ridge: Double = 1e-2) {
        self.units = units
        self.dim = dim
        self.bin = bin
        self.lags = lags
        self.ridge = ridge
    }

    /// Spike counts of a recording on the filter's grid: `[bins, units]`, bin k covering
    /// `[origin + k·bin, origin + (k+1)·bin)`.
    public struct Counts: Sendable {
        public let origin: Double
        public let bin: Double
        public let bins: Int
        public let units: Int
        public let counts: [Float]
    }

    public func counts(_ r: Recording) throws -> Counts {
        let origin = r.domain.items.first?.start ?? 0
        let end = r.domain.items.last?.end ?? origin
        let bins = max(1, Int(((end - origin) / bin).rounded(.up)) + 1)
        var c = [Float](repeating: 0, count: bins * units)
        let (times, unitIndex) = try r.windowSpikes(from: origin, to: end.nextUp)
        for (t, u) in zip(times, unitIndex) {
            let k = Int(((t - origin) / bin).rounded(.down))
            if k >= 0 && k < bins && Int(u) < units { c[k * units + Int(u)] += 1 }
        }
        return Counts(origin: origin, bin: bin, bins: bins, units: units, counts: c)
    }

    /// The feature row of a sample at time `t` into `row` (`features` values).
    public func featureRow(_ c: Counts, time t: Double, into row: inout [Double]) {
        let current = Int(((t - c.origin) / c.bin).rounded(.down))
        for l in 0..<lags {
            let k = current - 1 - l
            for u in 0..<units { row[l * units + u] = k >= 0 && k < c.bins ? Double(c.counts[k * units + u]) : 0 }
        }
        row[features - 1] = 1
    }

    /// The design of the samples of `r` inside `domain` with finite targets: X `[n, features]`,
    /// Y `[n, dim]` (targets normalised as the model sees them).
    public func design(_ r: Recording, counts c: Counts, domain: Intervals) -> (x: [Double], y: [Double], n: Int) {
        var x: [Double] = []
        var y: [Double] = []
        var row = [Double](repeating: 0, count: features)
        var n = 0
        for (i, t) in r.behaviourTimes.enumerated() where domain.contains(t) {
            var target = [Double](repeating: 0, count: dim)
            var finite = true
            for k in 0..<dim {
                let v = Double((r.behaviour[i * dim + k] - r.normalizationMean[k]) / r.normalizationStd[k])
                if v.isFinite { target[k] = v } else { finite = false }
            }
            guard finite else { continue }
            featureRow(c, time: t, into: &row)
            x += row
            y += target
            n += 1
        }
        return (x, y, n)
    }

    /// XᵀX `[p, p]` and XᵀY `[p, dim]` of a design: what every ridge λ solves from.
    public struct NormalEquations: Sendable {
        public let xtx: [Double]
        public let xty: [Double]
    }

    public func normalEquations(x: [Double], y: [Double], n: Int) throws -> NormalEquations {
        let p = features
        guard n > 0 else {
            throw POYOError.batch("no training samples with finite targets for the Wiener filter")
        }
        var xtx = [Double](repeating: 0, count: p * p)
        var xty = [Double](repeating: 0, count: p * dim)
        x.withUnsafeBufferPointer { xp in
            for i in 0..<n {
                let r = xp.baseAddress! + i * p
                for a in 0..<p where r[a] != 0 {
                    let ra = r[a]
                    for b in a..<p { xtx[a * p + b] += ra * r[b] }
                    for k in 0..<dim { xty[a * dim + k] += ra * y[i * dim + k] }
                }
            }
        }
        for a in 0..<p {
            for b in 0..<a { xtx[a * p + b] = xtx[b * p + a] }
        }
        return NormalEquations(xtx: xtx, xty: xty)
    }

    /// Fits the weights by ridge regression: (XᵀX + λ·mean(diag XᵀX)·I) W = XᵀY, the constant
    /// unpenalised.
    public mutating func fit(x: [Double], y: [Double], n: Int) throws {
        try fit(try normalEquations(x: x, y: y, n: n))
    }

    /// The same from normal equations already formed (one per design, whatever the λ).
    public mutating func fit(_ e: NormalEquations) throws {
        let p = features
        var xtx = e.xtx
        let meanDiag = max((0..<(p - 1)).reduce(0.0) { $0 + xtx[$1 * p + $1] } / Double(max(p - 1, 1)), 1e-12)
        for a in 0..<(p - 1) { xtx[a * p + a] += ridge * meanDiag }
        xtx[(p - 1) * p + (p - 1)] += 1e-9 * meanDiag  // keeps a constant-only design solvable
        weights = try LinearAlgebra.solveSymmetricPositiveDefinite(xtx, e.xty, n: p, nrhs: dim)
    }

    /// Predictions for samples at `times`: `[times.count, dim]`.
    public func predict(_ c: Counts, times: [Double]) -> [Float] {
        var out = [Float](repeating: 0, count: times.count * dim)
        var row = [Double](repeating: 0, count: features)
        for (j, t) in times.enumerated() {
            featureRow(c, time: t, into: &row)
            for k in 0..<dim {
                var s = 0.0
                for a in 0..<features where row[a] != 0 { s += row[a] * weights[a * dim + k] }
                out[j * dim + k] = Float(s)
            }
        }
        return out
    }
}
