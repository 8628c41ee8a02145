import Testing

@testable import POYOData

@Suite struct IntervalsTests {
    @Test func setOperations() {
        let a = Intervals([Interval(5, 6), Interval(0, 2), Interval(1, 3)])
        #expect(!a.isSortedDisjoint)
        #expect(a.contains(2.5) && !a.contains(3) && a.contains(5) && !a.contains(6))
        let m = a.merged()
        #expect(m.items == [Interval(0, 3), Interval(5, 6)] && m.isSortedDisjoint)
        #expect(m.contains(0) && m.contains(2.999) && !m.contains(3) && !m.contains(-0.1) && !m.contains(7))
        #expect(m.dilated(by: 1).items == [Interval(-1, 7)])
        let domain = Intervals([Interval(0, 10)])
        #expect(
            domain.subtracting(Intervals([Interval(2, 3), Interval(2.5, 4), Interval(9, 12)])).items
                == [Interval(0, 2), Interval(4, 9)])
        #expect(domain.subtracting(Intervals()).items == domain.items)
        #expect(m.totalLength == 4)
        #expect(Intervals(starts: [0, 1], ends: [0.5, 2]).items == [Interval(0, 0.5), Interval(1, 2)])
    }

    @Test func searchHelpers() {
        let r = tinyRecording()
        #expect(r.spikeRange(from: 0.2, to: 1.0) == 1..<4)  // 0.2, 0.2, 0.7
        #expect(r.spikeRange(from: 5, to: 6) == 8..<8)
        #expect(r.sampleRange(from: 0.5, to: 1.5) == 5..<15)
    }

    @Test func requestsApplyDropoutPerWindow() throws {
        let r = tinyRecording()
        let d = try Dataset(recordings: [r])
        let tok = try Tokenizer(
            recordings: [r], unitVocabulary: d.unitVocabulary, sessionVocabulary: d.sessionVocabulary)
        var rng = SeededRNG(seed: 1)
        let windows = [SampledWindow(recording: 0, start: 0), SampledWindow(recording: 0, start: 1)]
        #expect(tok.requests(for: windows, dropout: nil, rng: &rng).allSatisfy { $0.keptUnits == nil })
        let thinned = tok.requests(
            for: windows, dropout: UnitDropout(minUnits: 1, modeUnits: 2, maxUnits: 3), rng: &rng)
        #expect(thinned.map(\.start) == [0, 1])
        #expect(thinned.allSatisfy { ($0.keptUnits?.count ?? 0) >= 1 && ($0.keptUnits?.count ?? 9) <= 3 })
    }
}
