import _CBLAS

/// Dense linear algebra on the host, through LAPACK (OpenBLAS ships it): no hand-written solvers.
public enum LinearAlgebra {
    public enum Failure: Error, CustomStringConvertible {
        case notPositiveDefinite(order: Int)
        case badArgument(Int)
        case shapeMismatch(a: Int, b: Int, n: Int, nrhs: Int)
        public var description: String {
            switch self {
            case .notPositiveDefinite(let k):
                return "the matrix is not positive definite (leading minor \(k)); add ridge regularisation"
            case .badArgument(let i): return "LAPACK rejected argument \(i)"
            case .shapeMismatch(let a, let b, let n, let nrhs):
                return "solve: A has \(a) values and B \(b), expected \(n)×\(n) and \(n)×\(nrhs)"
            }
        }
    }

    /// Solves `A X = B` for a symmetric positive-definite `A` `[n, n]` and `B` `[n, nrhs]` (both
    /// row-major; A's symmetry makes its layout moot, and B is transposed for LAPACK here), by
    /// Cholesky (`dposv`). Returns X `[n, nrhs]`, row-major.
    public static func solveSymmetricPositiveDefinite(_ a: [Double], _ b: [Double], n: Int, nrhs: Int) throws
        -> [Double]
    {
        guard a.count == n * n, b.count == n * nrhs else {
            throw Failure.shapeMismatch(a: a.count, b: b.count, n: n, nrhs: nrhs)
        }
        guard n > 0, nrhs > 0 else { return [] }
        var aa = a
        // Column-major B: column k is right-hand side k.
        var bb = [Double](repeating: 0, count: n * nrhs)
        for i in 0..<n {
            for k in 0..<nrhs { bb[k * n + i] = b[i * nrhs + k] }
        }
        var uplo = CChar(UInt8(ascii: "L"))
        var order = Int32(n)
        var rhs = Int32(nrhs)
        var lda = Int32(n)
        var ldb = Int32(n)
        var info: Int32 = 0
        dposv_(&uplo, &order, &rhs, &aa, &lda, &bb, &ldb, &info, 1)
        if info > 0 { throw Failure.notPositiveDefinite(order: Int(info)) }
        if info < 0 { throw Failure.badArgument(Int(-info)) }
        var x = [Double](repeating: 0, count: n * nrhs)
        for i in 0..<n {
            for k in 0..<nrhs { x[i * nrhs + k] = bb[k * n + i] }
        }
        return x
    }

    /// The Cholesky factor of a symmetric positive-definite `A` `[n, n]` (`dpotrf`). The factor of
    /// a leading `m × m` block of A is the leading block of A's factor, so one factorisation solves
    /// every leading block (the Wiener filter's shorter histories).
    public struct Cholesky: Sendable {
        /// `[n, n]` column-major; the lower triangle holds L (A = L Lᵀ), the rest is A's.
        let factor: [Double]
        public let n: Int

        /// Solves `A[..<m, ..<m] X = B` for `B` `[m, nrhs]` row-major; returns X `[m, nrhs]` row-major.
        public func solve(_ b: [Double], leading m: Int, nrhs: Int) throws -> [Double] {
            guard m >= 0, m <= n, b.count == m * nrhs else {
                throw Failure.shapeMismatch(a: m * m, b: b.count, n: m, nrhs: nrhs)
            }
            guard m > 0, nrhs > 0 else { return [Double](repeating: 0, count: m * nrhs) }
            var bb = transposed(b, rows: m, columns: nrhs)  // column-major B
            var uplo = CChar(UInt8(ascii: "L"))
            var order = Int32(m)
            var rhs = Int32(nrhs)
            var lda = Int32(n)
            var ldb = Int32(m)
            var info: Int32 = 0
            factor.withUnsafeBufferPointer { f in
                dpotrs_(&uplo, &order, &rhs, f.baseAddress, &lda, &bb, &ldb, &info, 1)
            }
            if info < 0 { throw Failure.badArgument(Int(-info)) }
            return transposed(bb, rows: nrhs, columns: m)
        }
    }

    /// Factors a symmetric positive-definite `A` `[n, n]` (either layout: it is symmetric).
    public static func cholesky(_ a: [Double], n: Int) throws -> Cholesky {
        guard a.count == n * n else { throw Failure.shapeMismatch(a: a.count, b: 0, n: n, nrhs: 0) }
        var f = a
        guard n > 0 else { return Cholesky(factor: f, n: n) }
        var uplo = CChar(UInt8(ascii: "L"))
        var order = Int32(n)
        var lda = Int32(n)
        var info: Int32 = 0
        dpotrf_(&uplo, &order, &f, &lda, &info, 1)
        if info > 0 { throw Failure.notPositiveDefinite(order: Int(info)) }
        if info < 0 { throw Failure.badArgument(Int(-info)) }
        return Cholesky(factor: f, n: n)
    }

    /// `g += Rᵀ R` for `R` `[k, p]` row-major (`dsyrk`); only g's lower triangle (row-major: `g[i * p + j]`,
    /// j ≤ i) is updated: call `mirrorLower` once the sums are complete.
    public static func addGram(_ r: UnsafePointer<Double>, rows k: Int, columns p: Int, into g: inout [Double]) {
        guard k > 0, p > 0 else { return }
        cblas_dsyrk(CblasRowMajor, CblasLower, CblasTrans, Int32(p), Int32(k), 1, r, Int32(p), 1, &g, Int32(p))
    }

    /// Copies the lower triangle of a row-major `[n, n]` matrix onto its upper triangle.
    public static func mirrorLower(_ g: inout [Double], n: Int) {
        for i in 0..<n {
            for j in 0..<i { g[j * n + i] = g[i * n + j] }
        }
    }

    /// `C = α · op(A) · B + β · C`, row-major (`dgemm`): op(A) `[m, k]` (A `[k, m]` when `transposeA`),
    /// B `[k, n]`, C `[m, n]`; `lda`, `ldb` are the row strides, so a leading block of columns can be used.
    public static func multiply(
        transposeA: Bool = false, m: Int, n: Int, k: Int, alpha: Double = 1, _ a: UnsafePointer<Double>, lda: Int,
        _ b: UnsafePointer<Double>, ldb: Int, beta: Double = 0, into c: inout [Double]
    ) {
        guard m > 0, n > 0, k > 0 else { return }
        cblas_dgemm(
            CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, CblasNoTrans, Int32(m), Int32(n), Int32(k), alpha,
            a, Int32(lda), b, Int32(ldb), beta, &c, Int32(n))
    }

    /// `[rows, columns]` row-major → `[columns, rows]` row-major.
    static func transposed(_ x: [Double], rows: Int, columns: Int) -> [Double] {
        var t = [Double](repeating: 0, count: x.count)
        for i in 0..<rows {
            for j in 0..<columns { t[j * rows + i] = x[i * columns + j] }
        }
        return t
    }
}
