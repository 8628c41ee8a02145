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
            case .badArgument(let i): return "LAPACK dposv rejected argument \(i)"
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
}
