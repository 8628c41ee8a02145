import Foundation
import POYOData
import TestSupport
import Testing

@testable import POYO

/// Intervals shorter than the 1 s window are used, not dropped (issue 14): on a fixture of NLB-style
/// trials of 0.9–1.1 s, evaluation scores every test trial and training gives every training trial
/// loss weight, with no weight outside the training intervals.
@Suite struct ShortIntervalTests {
    static let fixture = packageRoot().appendingPathComponent("Tests/Fixtures/nlb_maze_short_trials.nwb")

    static func recording() throws -> Recording {
        try RecordingReader.read(fixture)
    }

    static func tokenizer(_ r: Recording) throws -> Tokenizer {
        try Tokenizer(
            recordings: [r], unitVocabulary: try Vocabulary(words: r.unitIDs),
            sessionVocabulary: try Vocabulary(words: [r.sessionID]))
    }

    @Test func theFixtureHasTrialsShorterThanTheWindow() throws {
        let r = try Self.recording()
        #expect(r.testDomain.count == 6 && r.testDomain.contains { $0.length < 1 })
        #expect(r.trainDomain.filter { $0.length < 1 }.count >= 5)
    }

    @Test func evaluationScoresEverySampleOfEveryTestTrial() throws {
        let r = try Self.recording()
        let eval = try #require(r.evalIntervals)
        // Expected: behaviour samples inside a test trial and the eval mask, with finite values.
        var expected = 0
        var perTrial = [Int](repeating: 0, count: r.testDomain.count)
        for (i, t) in r.behaviourTimes.enumerated() where eval.contains(t) {
            guard let k = r.testDomain.firstIndex(where: { $0.contains(t) }) else { continue }
            guard (0..<r.behaviourDim).allSatisfy({ r.behaviour[i * r.behaviourDim + $0].isFinite }) else { continue }
            expected += 1
            perTrial[k] += 1
        }
        #expect(perTrial.allSatisfy { $0 > 0 }, "a test trial has no sample in the eval mask: \(perTrial)")
        let result = try Evaluator.evaluate(tokenizer: try Self.tokenizer(r), split: .test, batchSize: 8) { batch in
            [Float](repeating: 0, count: batch.outputCount * batch.dimOut)
        }
        #expect(result.scoredSamples[r.sessionID] == expected)
        let c = try #require(result.coverage[r.sessionID])
        #expect(c.intervals == 6 && c.skipped == 0 && c.short == r.testDomain.filter { $0.length < 1 }.count)
    }

    @Test func trainingGivesEveryTrialWeightAndNothingOutsideAny() throws {
        let r = try Self.recording()
        let tok = try Self.tokenizer(r)
        let sampler = RandomFixedWindowSampler(intervals: [r.trainDomain], domains: [r.domain])
        let windows = sampler.windows(seed: 7, epoch: 0)
        #expect(windows.count == sampler.estimatedCount)
        var weighted = [Bool](repeating: false, count: r.trainDomain.count)
        for w in windows {
            let b = try tok.batch([WindowRequest(recording: 0, start: w.start, region: w.region)])
            #expect(w.start >= r.domain[0].start && w.start + 1 <= r.domain[0].end)
            for (t, weight) in zip(b.outputTimestamps, b.weights) where weight > 0 {
                let absolute = t + w.start
                let k = r.trainDomain.firstIndex { $0.contains(absolute) }
                #expect(k != nil, "weight \(weight) at \(absolute) s, outside every training interval")
                if let k { weighted[k] = true }
            }
        }
        #expect(weighted.allSatisfy { $0 }, "training intervals without loss weight: \(weighted)")
    }

    /// The same through `TrainingSession`, the path training takes: its windows keep their regions,
    /// so the batches it trains on weight nothing outside the training trials.
    @Test func trainingSessionBatchesWeightOnlyTrainingTrials() throws {
        let loaded = try RecordingReader.load(Self.fixture)
        let r = loaded.recording
        var o = Small.options(steps: 40)
        o.batchSize = 8
        let session = try Small.session(try Dataset(loaded: [loaded]), options: o)
        var position = SamplerPosition(unitDropoutRNG: SeededRNG(seed: 1))
        var requests: [WindowRequest] = []
        for _ in 0..<6 { requests += session.nextWindows(after: &position) }
        let around = requests.filter { $0.region != nil }
        #expect(!around.isEmpty && around.allSatisfy { w in r.trainDomain.contains { $0 == w.region } })
        for w in requests {
            let b = try session.tokenizer.batch([w])
            for (t, weight) in zip(b.outputTimestamps, b.weights) where weight > 0 {
                #expect(r.trainDomain.contains { $0.contains(t + w.start) }, "weight at \(t + w.start) s")
            }
        }
    }

    /// Prefetching the next batch on a background thread changes nothing: the same losses, step
    /// for step, as tokenising each batch on the training thread.
    @Test func prefetchedBatchesGiveTheSameLosses() throws {
        let data = try Small.dataset()
        func losses(prefetch: Bool) throws -> [Double] {
            let s = try Small.session(data, options: Small.options(steps: 6))
            s.prefetchesBatches = prefetch
            return try (0..<6).map { _ in try s.step().loss }
        }
        #expect(try losses(prefetch: true) == losses(prefetch: false))
    }

    /// Long intervals are sampled as torch_brain does whether or not short ones are used: with no
    /// short interval the windows are the same as with short ones skipped; with some, the long
    /// intervals' windows keep their order.
    @Test func longIntervalsKeepTorchBrainsWindows() {
        let long = Intervals([Interval(0, 5.3), Interval(6, 9.9), Interval(12, 20)])
        let domain = Intervals([Interval(0, 30)])
        let skipShort = RandomFixedWindowSampler(intervals: [long])
        let useShort = RandomFixedWindowSampler(intervals: [long], domains: [domain])
        #expect(skipShort.windows(seed: 3, epoch: 2) == useShort.windows(seed: 3, epoch: 2))

        let mixed = Intervals([Interval(0, 5.3), Interval(5.5, 5.9), Interval(6, 9.9), Interval(10.1, 10.6)])
        let old = RandomFixedWindowSampler(intervals: [mixed]).windows(seed: 3, epoch: 0)
        let new = RandomFixedWindowSampler(intervals: [mixed], domains: [domain]).windows(seed: 3, epoch: 0)
        #expect(new.filter { $0.region == nil } == old)
        let around = new.filter { $0.region != nil }
        #expect(around.count == 2)
        for w in around {
            let iv = try! #require(w.region)
            #expect(w.start <= iv.start && iv.end <= w.start + 1 && w.start >= 0 && w.start + 1 <= 30)
        }
    }

    @Test func anIntervalNoWindowCanHoldIsReportedWithItsSeconds() {
        // A 0.5 s interval in a 0.8 s stretch of recording: no 1 s window fits.
        let sampler = SequentialFixedWindowSampler(
            intervals: [Intervals([Interval(0.1, 0.6), Interval(2, 3.5)])],
            domains: [Intervals([Interval(0, 0.8), Interval(1.9, 4)])])
        #expect(sampler.skipped.count == 1 && sampler.windows.allSatisfy { $0.start >= 1.9 })
        let lines = SplitCoverage.report(split: "valid", coverage: sampler.coverage, sessions: ["s"], window: 1)
        #expect(lines.first == "valid: 2 interval(s), 2.0 s: 1 used (1.5 s); 1 skipped (0.5 s)")
        #expect(
            lines.last
                == "warning: valid: s: 1 interval(s), 0.50 s cannot be used (no 1 s window fits around them inside "
                + "the recorded domain)")
    }
}
