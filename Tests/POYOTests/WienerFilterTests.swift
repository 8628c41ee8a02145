import Compute
import Foundation
import POYO
import POYOData
import TestSupport
import Testing

/// The Wiener-filter baseline against an independent Float64 solve of the normal equations.
@Suite struct WienerFilterTests {
    /// Gaussian elimination with partial pivoting, Float64: the reference solve of A X = B.
    static func referenceSolve(_ a: [Double], _ b: [Double], n: Int, nrhs: Int) -> [Double] {
        var m = a
        var x = b
        for col in 0..<n {
            let pivot = (col..<n).max { abs(m[$0 * n + col]) < abs(m[$1 * n + col]) }!
            if pivot != col {
                for j in 0..<n { m.swapAt(col * n + j, pivot * n + j) }
                for k in 0..<nrhs { x.swapAt(col * nrhs + k, pivot * nrhs + k) }
            }
            for r in (col + 1)..<n {
                let f = m[r * n + col] / m[col * n + col]
                if f == 0 { continue }
                for j in col..<n { m[r * n + j] -= f * m[col * n + j] }
                for k in 0..<nrhs { x[r * nrhs + k] -= f * x[col * nrhs + k] }
            }
        }
        for col in stride(from: n - 1, through: 0, by: -1) {
            for k in 0..<nrhs {
                var s = x[col * nrhs + k]
                for j in (col + 1)..<n { s -= m[col * n + j] * x[j * nrhs + k] }
                x[col * nrhs + k] = s / m[col * n + col]
            }
        }
        return x
    }

    @Test func ridgeSolveMatchesFloat64NormalEquations() throws {
        let path = packageRoot().appendingPathComponent("Tests/Fixtures/perich_c_center_out.h5")
        let r = try RecordingReader.read(path, options: ReaderOptions())
        var f = WienerFilter(units: r.unitCount, dim: r.behaviourDim, bin: 0.02, lags: 3, ridge: 0.05)
        let c = try f.counts(r)
        let (x, y, n) = f.design(r, counts: c, domain: r.trainDomain)
        #expect(n > 100)
        try f.fit(x: x, y: y, n: n)

        // The same system, built the plain way.
        let p = f.features
        var a = [Double](repeating: 0, count: p * p)
        var b = [Double](repeating: 0, count: p * f.dim)
        for i in 0..<n {
            for u in 0..<p {
                for v in 0..<p { a[u * p + v] += x[i * p + u] * x[i * p + v] }
                for k in 0..<f.dim { b[u * f.dim + k] += x[i * p + u] * y[i * f.dim + k] }
            }
        }
        let meanDiag = (0..<(p - 1)).map { a[$0 * p + $0] }.reduce(0, +) / Double(p - 1)
        for u in 0..<(p - 1) { a[u * p + u] += 0.05 * meanDiag }
        a[p * p - 1] += 1e-9 * meanDiag
        let reference = Self.referenceSolve(a, b, n: p, nrhs: f.dim)
        let worst = zip(f.weights, reference).map { abs($0 - $1) }.max()!
        let scale = reference.map(abs).max()!
        #expect(worst / scale <= 1e-6, "normwise difference \(worst / scale)")
        print(
            String(
                format: "Wiener filter vs Float64 normal equations: normwise %.2e over %d weights", worst / scale,
                p * f.dim))

        // And the predictions are the design times the weights.
        let t = Array(r.behaviourTimes.prefix(5))
        let pred = f.predict(c, times: t)
        var row = [Double](repeating: 0, count: p)
        for (j, time) in t.enumerated() {
            f.featureRow(c, time: time, into: &row)
            for k in 0..<f.dim {
                let expected = (0..<p).reduce(0.0) { $0 + row[$1] * reference[$1 * f.dim + k] }
                #expect(abs(Double(pred[j * f.dim + k]) - expected) <= 1e-5 * max(1, abs(expected)))
            }
        }
    }

    @Test func lapackSolveRejectsASingularSystem() throws {
        #expect(throws: LinearAlgebra.Failure.self) {
            try LinearAlgebra.solveSymmetricPositiveDefinite([1, 1, 1, 1], [1, 2], n: 2, nrhs: 1)
        }
    }
}
