import Compute
import TestSupport
import Testing

@Suite("elementwise and dropout")
struct ElementwiseTests {
    @Test("fill, copy, axpy, scale, sumOfSquares", arguments: DeviceCase.all)
    func basics(_ dc: DeviceCase) throws {
        let dev = try dc.make()
        let n = 70_001  // several chunks, uneven split
        let (xf, xd) = randomPair(n, seed: 3)
        let (yf, yd) = randomPair(n, seed: 4)
        let x = try dev.tensor(xf, [n])
        let y = try dev.tensor(yf, [n])

        dev.axpy(-0.75, x, y)
        expectClose(try dev.download(y), zip(xd, yd).map { -0.75 * $0 + $1 }, tol: 2e-7, "axpy")
        dev.scale(y, by: 3)
        expectClose(try dev.download(y), zip(xd, yd).map { 3 * (-0.75 * $0 + $1) }, tol: 3e-7, "scale")
        dev.copy(x, to: y)
        expectBitwiseEqual(try dev.download(y), xf, "copy")
        dev.fill(y, 2.5)
        #expect(try dev.download(y).allSatisfy { $0 == 2.5 }, "fill")

        let s = try dev.tensor([Float(10)], [1])
        dev.sumOfSquares(x, into: s, accumulate: false)
        let ss = xd.reduce(0) { $0 + $1 * $1 }
        expectClose(try dev.download(s), [ss], tol: 1e-6, "sumOfSquares overwrite")
        dev.sumOfSquares(x, into: s, accumulate: true)
        expectClose(try dev.download(s), [2 * ss], tol: 1e-6, "sumOfSquares accumulate")
    }

    @Test("dropout drops ≈ p, scales kept by 1/(1−p), follows DropoutMask exactly", arguments: DeviceCase.all)
    func dropoutMask(_ dc: DeviceCase) throws {
        for n in [100_000, 1003] { try dropoutMask(dc, n: n) }
    }

    /// `n` elements: 100,000 fills vectors; 1,003 leaves a tail after the last 8-wide vector.
    func dropoutMask(_ dc: DeviceCase, n: Int) throws {
        let dev = try dc.make()
        let p: Float = 0.3
        let seed: UInt64 = 0xC0FFEE
        let (xf, _) = randomPair(n, seed: 5)
        let x = try dev.tensor(xf.map { $0 + 2 }, [n])  // no zeros before dropout
        dev.dropout(x, DropoutSpec(p: p, seed: seed))
        let y = try dev.download(x)

        let dropped = y.filter { $0 == 0 }.count
        let frac = Double(dropped) / Double(n)
        #expect(abs(frac - 0.3) < (n > 10_000 ? 0.01 : 0.05), "dropped fraction \(frac), p = 0.3")

        let thr = DropoutMask.threshold(p)
        let keepScale = 1 / (1 - p)
        var maskMismatch = 0
        var worstScale = 0.0
        for j in 0..<n {
            let kept = DropoutMask.keep(seed, UInt64(j), threshold: thr)
            if kept != (y[j] != 0) {
                maskMismatch += 1
                continue
            }
            if kept { worstScale = max(worstScale, abs(Double(y[j]) / Double(xf[j] + 2) - Double(keepScale))) }
        }
        #expect(maskMismatch == 0, "\(maskMismatch) elements disagree with DropoutMask.keep(seed, index)")
        #expect(worstScale < 1e-6, "kept elements scaled by 1/(1-p) ± \(worstScale)")

        // same seed → same mask (bitwise); another seed → another mask
        let again = try dev.tensor(xf.map { $0 + 2 }, [n])
        dev.dropout(again, DropoutSpec(p: p, seed: seed))
        expectBitwiseEqual(try dev.download(again), y, "dropout with the same seed")
        let other = try dev.tensor(xf.map { $0 + 2 }, [n])
        dev.dropout(other, DropoutSpec(p: p, seed: seed + 1))
        let o = try dev.download(other)
        let differ = (0..<n).filter { (o[$0] == 0) != (y[$0] == 0) }.count
        // independent masks disagree on 2p(1−p) = 42 % of the elements
        #expect(abs(Double(differ) / Double(n) - 0.42) < 0.02, "masks of seeds s and s+1 differ on \(differ) of \(n)")

        // p = 0 is the identity
        let id = try dev.tensor(xf, [n])
        dev.dropout(id, .none)
        expectBitwiseEqual(try dev.download(id), xf, "dropout p = 0")
    }
}
