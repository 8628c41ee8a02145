import Compute

/// Weighted sums of a design X `[n, p]` with targets Y `[n, dim]` and sample weights w: all a
/// weighted, standardised ridge regression needs, for any λ and any leading block of columns.
///
/// Sums add and subtract, so the sums of k-fold cross-validation's training parts are the total
/// minus each fold's.
public struct RidgeMoments: Sendable {
    public let columns: Int
    public let outputs: Int
    /// Σ w.
    public private(set) var weight = 0.0
    /// Rows with w > 0.
    public private(set) var samples = 0
    /// `[p, p]` Σ w x xᵀ, lower triangle only (row-major, `gram[i * p + j]`, j ≤ i).
    var gram: [Double]
    /// `[p]` Σ w x.
    var xSum: [Double]
    /// `[p, dim]` Σ w x yᵀ.
    var xy: [Double]
    /// `[dim]` Σ w y.
    var ySum: [Double]

    public init(columns: Int, outputs: Int) {
        self.columns = columns
        self.outputs = outputs
        gram = [Double](repeating: 0, count: columns * columns)
        xSum = [Double](repeating: 0, count: columns)
        xy = [Double](repeating: 0, count: columns * outputs)
        ySum = [Double](repeating: 0, count: outputs)
    }

    /// Adds rows `x` `[n, p]` with targets `y` `[n, dim]` and weights `w` `[n]`; rows of weight 0
    /// are left out (they must not move the fit, whatever their targets).
    public mutating func add(rows x: [Double], targets y: [Double], weights w: [Double]) {
        let p = columns
        let d = outputs
        let n = w.count
        precondition(x.count == n * p && y.count == n * d, "RidgeMoments.add: shapes")
        // Rows scaled by √w: (√w x)ᵀ(√w x) = Σ w x xᵀ, and (√w x)ᵀ(√w y) = Σ w x yᵀ.
        var sx: [Double] = []
        var sy: [Double] = []
        var root: [Double] = []
        sx.reserveCapacity(x.count)
        for i in 0..<n where w[i] > 0 {
            let r = w[i].squareRoot()
            root.append(r)
            for a in 0..<p { sx.append(r * x[i * p + a]) }
            for k in 0..<d {
                sy.append(r * y[i * d + k])
                ySum[k] += w[i] * y[i * d + k]
            }
            weight += w[i]
        }
        let k = root.count
        guard k > 0 else { return }
        samples += k
        sx.withUnsafeBufferPointer { xs in
            LinearAlgebra.addGram(xs.baseAddress!, rows: k, columns: p, into: &gram)
            sy.withUnsafeBufferPointer { ys in
                LinearAlgebra.multiply(
                    transposeA: true, m: p, n: d, k: k, xs.baseAddress!, lda: p, ys.baseAddress!, ldb: d, beta: 1,
                    into: &xy)
            }
            root.withUnsafeBufferPointer { rs in
                LinearAlgebra.multiply(
                    transposeA: true, m: p, n: 1, k: k, xs.baseAddress!, lda: p, rs.baseAddress!, ldb: 1, beta: 1,
                    into: &xSum)
            }
        }
    }

    public static func + (a: RidgeMoments, b: RidgeMoments) -> RidgeMoments { a.combined(b, sign: 1) }
    public static func - (a: RidgeMoments, b: RidgeMoments) -> RidgeMoments { a.combined(b, sign: -1) }

    private func combined(_ b: RidgeMoments, sign: Double) -> RidgeMoments {
        precondition(columns == b.columns && outputs == b.outputs, "RidgeMoments: shapes")
        var c = self
        c.weight += sign * b.weight
        c.samples += sign > 0 ? b.samples : -b.samples
        for i in gram.indices { c.gram[i] += sign * b.gram[i] }
        for i in xSum.indices { c.xSum[i] += sign * b.xSum[i] }
        for i in xy.indices { c.xy[i] += sign * b.xy[i] }
        for i in ySum.indices { c.ySum[i] += sign * b.ySum[i] }
        return c
    }
}

/// A ridge fit on raw features: prediction = intercept + x · coefficients.
public struct RidgeSolution: Sendable, Equatable {
    /// `[m, dim]`, on the raw (unstandardised) feature scale; 0 for a zero-variance feature.
    public var coefficients: [Double]
    /// `[dim]`.
    public var intercept: [Double]
}

/// The weighted ridge regression on z-scored features, from `RidgeMoments`:
///
///     minimise Σᵢ wᵢ ‖yᵢ − b − zᵢ β̃‖² + λ·W·‖β̃‖²,   zᵢⱼ = (xᵢⱼ − μⱼ)/σⱼ,   W = Σ w,
///
/// with μ, σ the weighted mean and standard deviation (`σ² = Σ w (x − μ)² / W`). Features are
/// z-scored so one λ penalises every unit alike (a raw-count ridge would penalise low-rate units
/// more). λ is relative: Z's Gram has diagonal W, so λ·W is λ times its mean diagonal. The
/// intercept b is unpenalised; with centred features it is the weighted mean of y. A feature with
/// zero variance gets coefficient 0 (no NaN). Returned on the raw scale: β = β̃/σ, b − μ·β.
public struct StandardisedRidge: Sendable {
    public let columns: Int
    public let outputs: Int
    let weight: Double
    /// `[p]` weighted means and standard deviations; `active[j]` is false for zero variance.
    let mean: [Double]
    let std: [Double]
    let active: [Bool]
    /// `[p, p]` Zᵀ W Z (full, row-major), `[p, dim]` Zᵀ W (y − ȳ), `[dim]` ȳ.
    let zz: [Double]
    let zy: [Double]
    let yMean: [Double]

    /// Variance below this (in squared feature units) counts as none: spike counts that vary at all
    /// vary by at least one spike in some sample, far above it.
    static let zeroVariance = 1e-10

    public init(_ m: RidgeMoments) throws {
        guard m.weight > 0 else {
            throw WienerError.noTrainingSamples("no training sample with a finite target and a weight above 0")
        }
        let p = m.columns
        let d = m.outputs
        let w = m.weight
        columns = p
        outputs = d
        weight = w
        mean = m.xSum.map { $0 / w }
        yMean = m.ySum.map { $0 / w }
        var std = [Double](repeating: 1, count: p)
        var active = [Bool](repeating: false, count: p)
        for j in 0..<p {
            let variance = (m.gram[j * p + j] - m.xSum[j] * m.xSum[j] / w) / w
            if variance > Self.zeroVariance {
                std[j] = variance.squareRoot()
                active[j] = true
            }
        }
        // Centred cross-products: Σ w (x − μ)(x − μ)ᵀ = Σ w x xᵀ − (Σ w x)(Σ w x)ᵀ / W.
        var zz = [Double](repeating: 0, count: p * p)
        for i in 0..<p where active[i] {
            for j in 0...i where active[j] {
                let v = (m.gram[i * p + j] - m.xSum[i] * m.xSum[j] / w) / (std[i] * std[j])
                zz[i * p + j] = v
                zz[j * p + i] = v
            }
        }
        var zy = [Double](repeating: 0, count: p * d)
        for i in 0..<p where active[i] {
            for k in 0..<d { zy[i * d + k] = (m.xy[i * d + k] - m.xSum[i] * m.ySum[k] / w) / std[i] }
        }
        self.std = std
        self.active = active
        self.zz = zz
        self.zy = zy
    }

    /// The Cholesky factor of `ZᵀWZ + λ·W·I` (a zero-variance feature's row and column: identity).
    public func factor(ridge lambda: Double) throws -> LinearAlgebra.Cholesky {
        let p = columns
        var a = zz
        for j in 0..<p { a[j * p + j] = active[j] ? a[j * p + j] + lambda * weight : 1 }
        return try LinearAlgebra.cholesky(a, n: p)
    }

    /// The solution over the first `m` features (a leading block), from a factor of `factor(ridge:)`.
    public func solve(_ f: LinearAlgebra.Cholesky, leading m: Int) throws -> RidgeSolution {
        let d = outputs
        var rhs = [Double](repeating: 0, count: m * d)
        for i in 0..<m where active[i] {
            for k in 0..<d { rhs[i * d + k] = zy[i * d + k] }
        }
        var beta = try f.solve(rhs, leading: m, nrhs: d)
        var intercept = yMean
        for i in 0..<m {
            for k in 0..<d {
                beta[i * d + k] = active[i] ? beta[i * d + k] / std[i] : 0
                intercept[k] -= mean[i] * beta[i * d + k]
            }
        }
        return RidgeSolution(coefficients: beta, intercept: intercept)
    }

    /// One solve: factor and all `columns`.
    public func solve(ridge lambda: Double) throws -> RidgeSolution {
        try solve(try factor(ridge: lambda), leading: columns)
    }
}
