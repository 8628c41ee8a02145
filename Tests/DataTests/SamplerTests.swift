import Testing

@testable import POYOData

@Suite struct SamplerTests {
    let intervals = [
        Intervals([Interval(0, 10.5), Interval(12, 12.7), Interval(20, 23.2)]),
        Intervals([Interval(5, 6.05), Interval(100, 137.9)]),
    ]

    @Test func randomWindowsFitTheirIntervalsAndCountMatches() {
        let sampler = RandomFixedWindowSampler(intervals: intervals)
        #expect(sampler.estimatedCount == 10 + 3 + 1 + 37)
        for epoch in 0..<20 {
            let ws = sampler.windows(seed: 42, epoch: epoch)
            // Each long interval yields floor(len / W) windows (the flush rule keeps it exact).
            #expect(ws.count == sampler.estimatedCount)
            for w in ws {
                let fits = intervals[w.recording].contains {
                    w.start >= $0.start - 1e-12 && w.start + 1 <= $0.end + 1e-12
                }
                #expect(fits)
            }
        }
    }

    @Test func randomWindowsAreSeededAndShuffled() {
        let sampler = RandomFixedWindowSampler(intervals: intervals)
        #expect(sampler.windows(seed: 1, epoch: 3) == sampler.windows(seed: 1, epoch: 3))
        #expect(sampler.windows(seed: 1, epoch: 3) != sampler.windows(seed: 1, epoch: 4))
        #expect(sampler.windows(seed: 1, epoch: 3) != sampler.windows(seed: 2, epoch: 3))
        let ws = sampler.windows(seed: 1, epoch: 0)
        #expect(ws.map(\.recording) != ws.map(\.recording).sorted())  // not in interval order
        // Offsets vary across epochs: starts are not all on one grid.
        let starts = Set((0..<10).flatMap { sampler.windows(seed: 9, epoch: $0) }.map(\.start))
        #expect(starts.count > 200)
    }

    @Test func sequentialWindowsCoverEachIntervalWithAFlushWindow() {
        let s = SequentialFixedWindowSampler(intervals: [
            Intervals([Interval(0, 2.2), Interval(3, 3.5), Interval(10, 11)])
        ])
        let starts = s.windows.map(\.start)
        let expected = [0, 0.5, 1.0, 1.2, 10]
        #expect(starts.count == expected.count)
        #expect(zip(starts, expected).allSatisfy { abs($0 - $1) < 1e-12 })
        #expect(s.skipped.count == 1)
        #expect(s.skipped.first?.interval == Interval(3, 3.5))
    }
}

@Suite struct UnitDropoutTests {
    @Test func keepsAboutAsManyUnitsAsTheReference() {
        let dropout = UnitDropout()  // 30 / 100 / 300, peak 4
        var rng = SeededRNG(seed: 123)
        let n = 20_000
        var total = 0
        var below142 = 0
        var keptAll = 0
        for _ in 0..<n {
            let k = min(dropout.sampleCount(unitCount: 300, rng: &rng), 300)
            #expect(k >= 30 && k <= 300)
            total += k
            if k < 142 { below142 += 1 }
            if k == 300 { keptAll += 1 }
        }
        let mean = Double(total) / Double(n)
        // docs/spec.md §4.2: simulated mean ≈ 157, P(<142) ≈ 0.46. A textbook triangle (no fresh u')
        // would give ≈ 152 and ≈ 0.49, outside these bounds (about ±6 standard errors).
        #expect(mean > 154 && mean < 160)
        let p = Double(below142) / Double(n)
        #expect(p > 0.43 && p < 0.475)
        #expect(keptAll < n / 100)
    }

    @Test func keptUnitsAreASortedSubset() {
        let dropout = UnitDropout(minUnits: 5, modeUnits: 10, maxUnits: 20)
        var rng = SeededRNG(seed: 5)
        var sizes = Set<Int>()
        for _ in 0..<200 {
            let kept = dropout.keptUnits(unitCount: 40, rng: &rng)
            #expect(kept == kept.sorted() && Set(kept).count == kept.count)
            #expect(kept.allSatisfy { $0 >= 0 && $0 < 40 })
            sizes.insert(kept.count)
        }
        #expect(sizes.count > 5 && sizes.max()! < 20 && sizes.min()! >= 5)
        // Fewer units than min: all kept.
        #expect(dropout.keptUnits(unitCount: 4, rng: &rng) == [0, 1, 2, 3])
    }

    @Test func isDeterministicForASeed() {
        let dropout = UnitDropout()
        var a = SeededRNG(seed: 9)
        var b = SeededRNG(seed: 9)
        for _ in 0..<50 {
            #expect(dropout.keptUnits(unitCount: 250, rng: &a) == dropout.keptUnits(unitCount: 250, rng: &b))
        }
    }
}
