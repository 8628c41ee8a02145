import Foundation
import POYOData
import TestSupport
import Testing

/// Few-shot subsets of a recording's training trials.
@Suite struct FewShotTests {
    static func recording() -> Recording {
        var c = SyntheticConfig()
        c.trialsPerSession = 40
        return SyntheticDataset.generate(sessions: 1, heldOut: 0, seed: 5, config: c)[0]
    }

    @Test func keepsTheAskedTrialsInsideTheTrainingDomain() throws {
        let r = Self.recording()
        let all = r.trainingTrials
        #expect(all.count >= 10)
        let (sub, kept, available) = try r.keepingTrainingTrials(.trials(4), seed: 9)
        #expect(kept == 4 && available == all.count)
        // Inside the old training domain, never reaching valid or test time.
        #expect(sub.trainDomain.totalLength < r.trainDomain.totalLength)
        #expect(
            r.trainDomain.subtracting(sub.trainDomain).totalLength + sub.trainDomain.totalLength
                - r.trainDomain.totalLength < 1e-9)
        #expect(sub.trainDomain.subtracting(r.trainDomain).totalLength < 1e-9)
        // Exactly four training trials still train (overlap the new domain); valid and test are whole.
        let overlapping = all.filter { t in
            sub.trainDomain.items.contains { min($0.end, t.end) > max($0.start, t.start) }
        }
        #expect(overlapping.count >= 4)
        #expect(sub.validDomain == r.validDomain && sub.testDomain == r.testDomain)
        // Seeded: the same seed, the same subset; another seed, another one.
        #expect(try r.keepingTrainingTrials(.trials(4), seed: 9).recording.trainDomain == sub.trainDomain)
        #expect(try r.keepingTrainingTrials(.trials(4), seed: 10).recording.trainDomain != sub.trainDomain)
    }

    @Test func fractionRoundsAndKeepsAtLeastOne() throws {
        let r = Self.recording()
        let n = r.trainingTrials.count
        #expect(try r.keepingTrainingTrials(.fraction(0.1), seed: 1).kept == max(1, Int((0.1 * Double(n)).rounded())))
        #expect(try r.keepingTrainingTrials(.fraction(1e-6), seed: 1).kept == 1)
        #expect(try r.keepingTrainingTrials(.fraction(1), seed: 1).recording.trainDomain.totalLength > 0)
    }

    @Test func outOfRangeRequestsAreErrors() throws {
        let r = Self.recording()
        #expect(throws: DataError.self) { try r.keepingTrainingTrials(.fraction(0), seed: 1) }
        #expect(throws: DataError.self) { try r.keepingTrainingTrials(.fraction(1.5), seed: 1) }
        #expect(throws: DataError.self) { try r.keepingTrainingTrials(.trials(0), seed: 1) }
        #expect(throws: DataError.self) { try r.keepingTrainingTrials(.trials(r.trainingTrials.count + 1), seed: 1) }
        var none = r
        none.trainDomain = Intervals()
        #expect(throws: DataError.self) { try none.keepingTrainingTrials(.trials(1), seed: 1) }
    }
}
