import Compute
import TestSupport
import Testing

@Suite("gemm, bias, embeddings")
struct LinearTests {
    /// A strided matrix inside a larger buffer: `rows × cols` at (1, 2) of a buffer with 2 extra
    /// rows and 3 extra columns, so offsets and ld > width are exercised.
    struct Strided {
        let rows: Int, cols: Int
        var ld: Int { cols + 3 }
        var offset: Int { ld + 2 }
        var bufferCount: Int { (rows + 2) * ld }
        func contains(_ flat: Int) -> Bool {
            let r = flat / ld - 1
            let c = flat % ld - 2
            return r >= 0 && r < rows && c >= 0 && c < cols
        }
        func view(_ t: Tensor) -> MatrixView { MatrixView(t, offset: offset, ld: ld, width: cols) }
    }

    /// C = 0.75 · op(A)·op(B) + beta · C on strided views against float64; the memory around each
    /// view must be left as it was. With `nanC`, C starts as NaN (so beta 0 must not read it).
    func checkGemm(
        _ dev: any Device, m: Int, n: Int, k: Int, transA: Bool, transB: Bool, beta: Double, seed: UInt64,
        nanC: Bool = false
    ) throws {
        let sa = transA ? Strided(rows: k, cols: m) : Strided(rows: m, cols: k)
        let sb = transB ? Strided(rows: n, cols: k) : Strided(rows: k, cols: n)
        let sc = Strided(rows: m, cols: n)
        let (af, ad) = randomPair(sa.bufferCount, seed: seed)
        let (bf, bd) = randomPair(sb.bufferCount, seed: seed + 1)
        var (cf, cd) = randomPair(sc.bufferCount, seed: seed + 2)
        if nanC {
            for i in cf.indices where sc.contains(i) { cf[i] = .nan }
            cd = cf.map { Double($0) }
        }
        let a = try dev.tensor(af, [sa.rows + 2, sa.ld])
        let b = try dev.tensor(bf, [sb.rows + 2, sb.ld])
        let c = try dev.tensor(cf, [sc.rows + 2, sc.ld])
        dev.gemm(
            transA: transA, transB: transB, m: m, n: n, k: k, alpha: 0.75,
            a: sa.view(a), b: sb.view(b), beta: Float(beta), c: sc.view(c))
        let ref = Ref.gemm(
            transA: transA, transB: transB, m: m, n: n, k: k, alpha: 0.75,
            a: ad, aOffset: sa.offset, lda: sa.ld, b: bd, bOffset: sb.offset, ldb: sb.ld,
            beta: beta, c: cd, cOffset: sc.offset, ldc: sc.ld)
        let got = try dev.download(c)
        let what = "\(dev.name) gemm m\(m) n\(n) k\(k) transA \(transA) transB \(transB) beta \(beta)"
        let inside = got.indices.filter(sc.contains)
        expectClose(inside.map { got[$0] }, inside.map { ref[$0] }, tol: 2e-6, what)
        let outside = got.indices.filter { !sc.contains($0) }
        expectBitwiseEqual(outside.map { got[$0] }, outside.map { cf[$0] }, "\(what): outside the c view")
    }

    @Test("gemm: 4 transpose combos, strided views, alpha, beta 0/1/0.5", arguments: DeviceCase.all)
    func gemm(_ dc: DeviceCase) throws {
        let dev = try dc.make()
        // The last shape is large enough (n·k ≥ 2^14) for the CPU backend to split rows across workers.
        for (m, n, k) in [(5, 7, 6), (1, 3, 1), (48, 130, 128)] {
            for transA in [false, true] {
                for transB in [false, true] {
                    for beta in [0.0, 1.0, 0.5] {
                        try checkGemm(dev, m: m, n: n, k: k, transA: transA, transB: transB, beta: beta, seed: 10)
                    }
                }
            }
        }
    }

    /// The CPU GEMM's blocked paths (cpu_gemm.c): k past one 256-deep panel (beta then applies to
    /// the first panel only), n past one packed panel of B, a full 128-row block of A packed,
    /// leftover rows (< 8) and columns (< 32), and B transposed with k not a multiple of 16. One
    /// worker, so the rows are not split; beta 0 over NaN, so C must not be read.
    @Test("gemm: CPU blocking (k > 256, n > 512, packed A, ragged edges) against float64")
    func gemmBlocking() throws {
        let dev = CPUDevice(threads: 1)
        for transA in [false, true] {
            for transB in [false, true] {
                for beta in [0.0, 0.5] {
                    try checkGemm(
                        dev, m: 141, n: 547, k: 301, transA: transA, transB: transB, beta: beta, seed: 16,
                        nanC: beta == 0)
                }
            }
        }
    }

    @Test("gemm: beta 0 does not read c (NaN there is overwritten); k = 0 gives beta · c", arguments: DeviceCase.all)
    func gemmEdges(_ dc: DeviceCase) throws {
        let dev = try dc.make()
        let (m, n, k) = (4, 5, 3)
        let (af, ad) = randomPair(m * k, seed: 13)
        let (bf, bd) = randomPair(k * n, seed: 14)
        let a = try dev.tensor(af, [m, k])
        let b = try dev.tensor(bf, [k, n])
        let c = try dev.tensor([Float](repeating: .nan, count: m * n), [m, n])
        dev.gemm(
            transA: false, transB: false, m: m, n: n, k: k, alpha: 1, a: a.matrix, b: b.matrix, beta: 0, c: c.matrix)
        let ref = Ref.gemm(
            transA: false, transB: false, m: m, n: n, k: k, alpha: 1, a: ad, aOffset: 0, lda: k,
            b: bd, bOffset: 0, ldb: n, beta: 0, c: [Double](repeating: .nan, count: m * n), cOffset: 0, ldc: n)
        expectClose(try dev.download(c), ref, tol: 1e-6, "gemm beta 0 over NaN")

        let (cf, cd) = randomPair(m * n, seed: 15)
        let c2 = try dev.tensor(cf, [m, n])
        dev.gemm(
            transA: false, transB: false, m: m, n: n, k: 0, alpha: 1, a: a.matrix, b: b.matrix, beta: 0.5, c: c2.matrix)
        expectClose(try dev.download(c2), cd.map { 0.5 * $0 }, tol: 0, "gemm k = 0, beta 0.5")
        dev.gemm(
            transA: false, transB: false, m: m, n: n, k: 0, alpha: 1, a: a.matrix, b: b.matrix, beta: 0, c: c2.matrix)
        #expect(try dev.download(c2).allSatisfy { $0 == 0 }, "gemm k = 0, beta 0 must zero c")
    }

    @Test("addBias and sumRows (its gradient) against float64", arguments: DeviceCase.all)
    func biasAndSumRows(_ dc: DeviceCase) throws {
        let dev = try dc.make()
        let (rows, d) = (300, 40)
        let (xf, xd) = randomPair(rows * d, seed: 20)
        let (bf, bd) = randomPair(d, seed: 21)
        let x = try dev.tensor(xf, [rows, d])
        let bias = try dev.tensor(bf, [d])
        dev.addBias(x, bias)
        expectClose(try dev.download(x), xd.indices.map { xd[$0] + bd[$0 % d] }, tol: 1e-7, "addBias")

        let (gf, gd) = randomPair(rows * d, seed: 22)
        let (d0f, d0d) = randomPair(d, seed: 23)
        let dY = try dev.tensor(gf, [rows, d])
        let dBias = try dev.tensor(d0f, [d])
        dev.sumRows(dY, into: dBias)
        let ref = (0..<d).map { j in d0d[j] + (0..<rows).reduce(0.0) { $0 + gd[$1 * d + j] } }
        expectClose(try dev.download(dBias), ref, tol: 2e-6, "sumRows (accumulating onto a non-zero dBias)")
    }

    @Test("gatherRows (overwrite / accumulate) and scatterAddRows with repeated indices", arguments: DeviceCase.all)
    func embeddings(_ dc: DeviceCase) throws {
        let dev = try dc.make()
        let (vocab, d, n) = (10, 12, 600)
        var idx = randomInts(n, bound: vocab, seed: 30)
        idx[0] = 0
        idx[1] = vocab - 1
        idx[2] = 3
        idx[3] = 3  // both ends, an adjacent repeat
        let (tf, td) = randomPair(vocab * d, seed: 31)
        let (of, od) = randomPair(n * d, seed: 32)
        let table = try dev.tensor(tf, [vocab, d])
        let indices = try dev.indices(idx)
        let out = try dev.tensor(of, [n, d])
        let gathered = (0..<(n * d)).map { td[idx[$0 / d] * d + $0 % d] }

        dev.gatherRows(table: table, indices: indices, out: out, accumulate: true)
        expectClose(try dev.download(out), zip(od, gathered).map { $0 + $1 }, tol: 1e-7, "gatherRows accumulate")
        dev.gatherRows(table: table, indices: indices, out: out, accumulate: false)
        expectBitwiseEqual(try dev.download(out), gathered.map { Float($0) }, "gatherRows overwrite")

        let (gf, gd) = randomPair(n * d, seed: 33)
        let dOut = try dev.tensor(gf, [n, d])
        let dTable = try dev.tensor(tf, [vocab, d])
        dev.scatterAddRows(dOut, indices: indices, into: dTable)
        var ref = td
        for r in 0..<n { for j in 0..<d { ref[idx[r] * d + j] += gd[r * d + j] } }
        expectClose(try dev.download(dTable), ref, tol: 1e-6, "scatterAddRows (accumulating onto the table)")
    }
}
