import Compute
import TestSupport
import Testing

@Suite("optimizers")
struct OptimizerTests {
    @Test("adamWStep: two steps match torch.optim.AdamW in float64", arguments: DeviceCase.all)
    func adamW(_ dc: DeviceCase) throws {
        let dev = try dc.make()
        let n = 10
        let (pf, pd0) = randomPair(n, seed: 90)
        var pd = pd0
        var md = [Double](repeating: 0, count: n)
        var vd = md
        let param = try dev.tensor(pf, [2, 5])
        let m = try dev.zeros([2, 5])
        let v = try dev.zeros([2, 5])
        for t in 1...2 {
            let (gf, gd) = randomPair(n, seed: 90 + UInt64(t), scale: 0.1 * Float(t))
            let grad = try dev.tensor(gf, [2, 5])
            let hp = AdamWParams(lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.1, step: t)
            dev.adamWStep(param: param, grad: grad, m: m, v: v, hp)
            // The reference takes the Float32 hyper-parameters the device gets (1 − Float(0.999) is
            // 1.3e-5 away from 0.001, which would otherwise dominate the comparison).
            Ref.adamW(
                p: &pd, g: gd, m: &md, v: &vd, lr: Double(hp.lr), beta1: Double(hp.beta1), beta2: Double(hp.beta2),
                eps: Double(hp.eps), wd: Double(hp.weightDecay), t: t)
            expectClose(try dev.download(param), pd, tol: 1e-6, "adamW param after step \(t)")
            expectClose(try dev.download(m), md, tol: 1e-6, "adamW m after step \(t)")
            expectClose(try dev.download(v), vd, tol: 1e-6, "adamW v after step \(t)")
        }
    }

    /// Runs `steps` LAMB steps on device and reference; gradients are re-uploaded each step
    /// because the step consumes the gradient buffer.
    func lamb(
        _ dev: any Device, w w0: [Float], grads: [[Float]], shape: [Int], sparse: Bool, hp: LAMBParams,
        what: String, sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> [Double] {
        var wd = w0.map { Double($0) }
        var md = [Double](repeating: 0, count: w0.count)
        var vd = md
        let param = try dev.tensor(w0, shape)
        let m = try dev.zeros(shape)
        let v = try dev.zeros(shape)
        var ratios: [Double] = []
        for (t, g) in grads.enumerated() {
            let before = try dev.download(param)
            dev.lambStep(param: param, grad: try dev.tensor(g, shape), m: m, v: v, sparseRows: sparse, hp)
            ratios.append(
                Ref.lamb(
                    w: &wd, g: g.map { Double($0) }, m: &md, v: &vd, lr: Double(hp.lr),
                    beta1: Double(hp.beta1), beta2: Double(hp.beta2), eps: Double(hp.eps),
                    wd: Double(hp.weightDecay), maxNorm: Double(hp.maxWeightNorm),
                    rowWidth: sparse ? shape.last! : nil))
            let after = try dev.download(param)
            // Compare the update itself, so a small step on large weights is still resolved (the tests
            // use lr 0.1 so that the rounding of w, half an ulp, stays well below the tolerance).
            expectClose(
                zip(after, before).map { $0 - $1 }, zip(wd, before).map { $0 - Double($1) }, tol: 1e-5,
                "\(what): Δw at step \(t + 1)", sourceLocation: sourceLocation)
            expectClose(
                try dev.download(m), md, tol: 1e-6, "\(what): m at step \(t + 1)", sourceLocation: sourceLocation)
            expectClose(
                try dev.download(v), vd, tol: 1e-6, "\(what): v at step \(t + 1)", sourceLocation: sourceLocation)
        }
        return ratios
    }

    @Test("lambStep dense: two steps match docs/spec.md §4.4 in float64", arguments: DeviceCase.all)
    func lambDense(_ dc: DeviceCase) throws {
        let dev = try dc.make()
        let w = randomFloats(20, seed: 100, scale: 0.5)
        let grads = [randomFloats(20, seed: 101, scale: 0.1), randomFloats(20, seed: 102, scale: 0.2)]
        let ratios = try lamb(
            dev, w: w, grads: grads, shape: [4, 5], sparse: false,
            hp: LAMBParams(lr: 0.1, beta1: 0.9, beta2: 0.999, eps: 1e-6, weightDecay: 0.01), what: "lamb dense")
        #expect(ratios.allSatisfy { $0 != 1 }, "the trust ratio should be exercised: \(ratios)")
    }

    @Test("lambStep: ‖w‖ > 10 is clamped to 10 in the trust ratio", arguments: DeviceCase.all)
    func lambClamp(_ dc: DeviceCase) throws {
        let dev = try dc.make()
        let w = randomFloats(20, seed: 110, scale: 8)  // ‖w‖ ≈ 20
        #expect(w.reduce(0) { $0 + $1 * $1 }.squareRoot() > 15)
        let g = randomFloats(20, seed: 111)
        let hp = LAMBParams(lr: 0.1, weightDecay: 1e-4)  // a step well above the rounding of w ≈ 8
        _ = try lamb(dev, w: w, grads: [g], shape: [20], sparse: false, hp: hp, what: "lamb clamp")
        // and the clamp matters: without it the step would be twice as large
        var unclamped = hp
        unclamped.maxWeightNorm = 1000
        let p1 = try dev.tensor(w, [20])
        let p2 = try dev.tensor(w, [20])
        dev.lambStep(
            param: p1, grad: try dev.tensor(g, [20]), m: try dev.zeros([20]), v: try dev.zeros([20]), sparseRows: false,
            hp)
        dev.lambStep(
            param: p2, grad: try dev.tensor(g, [20]), m: try dev.zeros([20]), v: try dev.zeros([20]), sparseRows: false,
            unclamped)
        let d1 = zip(try dev.download(p1), w).map { Double($0 - $1) }
        let d2 = zip(try dev.download(p2), w).map { Double($0 - $1) }
        let n1 = d1.reduce(0) { $0 + $1 * $1 }.squareRoot()
        let n2 = d2.reduce(0) { $0 + $1 * $1 }.squareRoot()
        #expect(n2 / n1 > 1.5, "the clamp at 10 had no effect (step norms \(n1), \(n2))")
    }

    @Test("lambStep: zero ‖w‖ or zero ‖s‖ gives trust ratio 1, no NaN", arguments: DeviceCase.all)
    func lambZeroNorms(_ dc: DeviceCase) throws {
        let dev = try dc.make()
        // ‖w‖ = 0: w ← −lr · m/(√v + eps)
        _ = try lamb(
            dev, w: [Float](repeating: 0, count: 12), grads: [randomFloats(12, seed: 120)], shape: [3, 4],
            sparse: false, hp: LAMBParams(lr: 1e-2), what: "lamb ‖w‖ = 0")
        // ‖s‖ = 0 (zero gradient, no decay): nothing moves
        let w = randomFloats(12, seed: 121)
        let param = try dev.tensor(w, [3, 4])
        dev.lambStep(
            param: param, grad: try dev.zeros([3, 4]), m: try dev.zeros([3, 4]), v: try dev.zeros([3, 4]),
            sparseRows: false, LAMBParams(lr: 1e-2, weightDecay: 0))
        expectBitwiseEqual(try dev.download(param), w, "lamb ‖s‖ = 0 must leave w alone")
    }

    /// Sparse rows: rows with an all-zero gradient keep their weights and have m, v reset to 0;
    /// ‖w‖ and ‖s‖ run over every row, with s = wd·w on the untouched rows (what CPUDevice does).
    @Test(
        "lambStep sparseRows: untouched rows keep weights, moments reset, norms over all rows",
        arguments: DeviceCase.all)
    func lambSparse(_ dc: DeviceCase) throws {
        let dev = try dc.make()
        let (rows, d) = (6, 4)
        let w = randomFloats(rows * d, seed: 130, scale: 0.5)
        let g1 = randomFloats(rows * d, seed: 131, scale: 0.1)  // every row touched: moments become non-zero
        var g2 = randomFloats(rows * d, seed: 132, scale: 0.1)
        for r in [1, 4] { for j in 0..<d { g2[r * d + j] = 0 } }  // untouched rows
        g2[2 * d + 1] = 0  // partly zero row: still touched
        let hp = LAMBParams(lr: 0.1, weightDecay: 0.05)
        _ = try lamb(dev, w: w, grads: [g1, g2], shape: [rows, d], sparse: true, hp: hp, what: "lamb sparse")

        // Direct checks of the untouched rows.
        let param = try dev.tensor(w, [rows, d])
        let m = try dev.zeros([rows, d])
        let v = try dev.zeros([rows, d])
        dev.lambStep(param: param, grad: try dev.tensor(g1, [rows, d]), m: m, v: v, sparseRows: true, hp)
        let before = try dev.download(param)
        dev.lambStep(param: param, grad: try dev.tensor(g2, [rows, d]), m: m, v: v, sparseRows: true, hp)
        let after = try dev.download(param)
        let mm = try dev.download(m)
        let vv = try dev.download(v)
        for r in 0..<rows {
            let cols = (r * d)..<((r + 1) * d)
            if r == 1 || r == 4 {
                expectBitwiseEqual(Array(after[cols]), Array(before[cols]), "row \(r) (zero gradient) must not move")
                #expect(
                    mm[cols].allSatisfy { $0 == 0 } && vv[cols].allSatisfy { $0 == 0 },
                    "row \(r): moments must be reset to 0")
            } else {
                #expect(zip(after[cols], before[cols]).contains { $0 != $1 }, "row \(r) (touched) must move")
            }
        }
        // Dense LAMB on the same data differs (it moves rows 1 and 4), so sparseRows is honoured.
        let dense = try dev.tensor(w, [rows, d])
        let dm = try dev.zeros([rows, d])
        let dv = try dev.zeros([rows, d])
        dev.lambStep(param: dense, grad: try dev.tensor(g1, [rows, d]), m: dm, v: dv, sparseRows: false, hp)
        dev.lambStep(param: dense, grad: try dev.tensor(g2, [rows, d]), m: dm, v: dv, sparseRows: false, hp)
        #expect(try dev.download(dense)[(d)..<(2 * d)] != after[(d)..<(2 * d)])
    }
}

@Suite("optimizers: LAMB over a row range")
struct LAMBRowRangeTests {
    /// Two steps on rows 3..<7 of a [9, 5] sparse table equal two steps on a [4, 5] table holding
    /// only those rows (bit for bit), and the other rows, with their moments, are never touched.
    @Test(arguments: DeviceCase.all)
    func rowRangeTrainsOnlyThoseRowsAsAWholeTable(_ dc: DeviceCase) throws {
        let dev = try dc.make()
        let (rows, width, range) = (9, 5, 3..<7)
        let w0 = randomFloats(rows * width, seed: 71)
        let part = Array(w0[(range.lowerBound * width)..<(range.upperBound * width)])
        let table = try dev.tensor(w0, [rows, width])
        let alone = try dev.tensor(part, [range.count, width])
        let (m, v) = (try dev.zeros([rows, width]), try dev.zeros([rows, width]))
        let (ma, va) = (try dev.zeros([range.count, width]), try dev.zeros([range.count, width]))
        for step in 0..<2 {
            var g = randomFloats(rows * width, seed: 80 + UInt64(step), scale: 0.1)
            for j in (4 * width)..<(5 * width) { g[j] = 0 }  // row 4: untouched in this step
            let gPart = Array(g[(range.lowerBound * width)..<(range.upperBound * width)])
            dev.lambStep(
                param: table, grad: try dev.tensor(g, [rows, width]), m: m, v: v, sparseRows: true,
                LAMBParams(lr: 1e-2, weightDecay: 0.1, rows: range))
            dev.lambStep(
                param: alone, grad: try dev.tensor(gPart, [range.count, width]), m: ma, v: va, sparseRows: true,
                LAMBParams(lr: 1e-2, weightDecay: 0.1))
        }
        let after = try dev.download(table)
        let inRange = (range.lowerBound * width)..<(range.upperBound * width)
        let standalone = try dev.download(alone)
        #expect(Array(after[inRange]) == standalone, "rows \(range) differ from a standalone table")
        #expect(Array(after[inRange]) != part, "rows \(range) did not train")
        for j in 0..<(rows * width) where !inRange.contains(j) {
            #expect(after[j] == w0[j], "element \(j) outside the range changed")
        }
        let (mAll, vAll) = (try dev.download(m), try dev.download(v))
        let (mPart, vPart) = (try dev.download(ma), try dev.download(va))
        #expect(Array(mAll[inRange]) == mPart && Array(vAll[inRange]) == vPart)
        for j in 0..<(rows * width) where !inRange.contains(j) { #expect(mAll[j] == 0 && vAll[j] == 0) }
    }
}
