import Foundation
import POYO
import POYOData
import TestSupport
import Testing

/// Where the Wiener filter's history and λ are chosen: inside the training data, never on the split
/// it is scored on.
@Suite struct WienerSelectionTests {
    /// A small synthetic session (12 units keep the longest history's design at 600 columns).
    static func session() -> Recording {
        var c = SyntheticConfig()
        c.trialsPerSession = 40
        c.unitRange = 12...12
        return SyntheticDataset.generate(sessions: 1, heldOut: 0, seed: 8, config: c)[0]
    }

    /// `r` with its behaviour negated inside `domain`: there, every filter that decodes scores below
    /// the mean, so the most shrunk λ scores best.
    static func flipped(_ r: Recording, in domain: Intervals) -> Recording {
        var f = r
        for (i, t) in r.behaviourTimes.enumerated() where domain.contains(t) {
            for k in 0..<r.behaviourDim { f.behaviour[i * r.behaviourDim + k] *= -1 }
        }
        return f
    }

    static func intersection(_ a: Intervals, _ b: Intervals) -> Intervals { a.subtracting(a.subtracting(b)) }

    static func domain(_ r: Recording, _ split: Split) -> Intervals {
        split == .test ? r.testDomain : r.validDomain
    }

    @Test func aBinWiderThanTheContextIsRefused() {
        var o = WienerBaseline.Options()
        o.bin = 1e9
        #expect(throws: WienerError.invalidOption("bin 1000000000.0 s: must be above 0 and at most 1.0 s")) {
            try WienerBaseline.fit(.init(recording: Self.session()), options: o)
        }
    }

    @Test(arguments: [Split.test, .valid])
    func selectionScoresOnlyOutsideTheScoredSplit(split: Split) throws {
        let r = Self.session()
        var o = WienerBaseline.Options()
        o.split = split
        let report = try WienerBaseline.fit(.init(recording: r), options: o).report
        #expect(!report.selectionDomains.isEmpty && report.selectionSamples > 0)
        for d in report.selectionDomains {
            let overlap = Self.intersection(d, Self.domain(r, split)).totalLength
            #expect(overlap == 0, "selection scored \(overlap) s of the \(split) split")
        }
        switch split {
        case .test:
            #expect(report.selection.method == .validation)
            #expect(report.selectionDomains.allSatisfy { $0 == r.validDomain })
        default:
            guard case .trialFolds(5, let n) = report.selection.method, n >= 5 else {
                Issue.record("expected 5 folds of training trials, got \(report.selection.description)")
                return
            }
            // The folds lie in the training domain, which never overlaps valid or test.
            for d in report.selectionDomains {
                #expect(abs(Self.intersection(d, r.trainDomain).totalLength - d.totalLength) < 1e-9)
            }
        }
    }

    @Test(arguments: [Split.test, .valid])
    func aScoredSplitThatFavoursAnotherRidgeDoesNotMoveTheChoice(split: Split) throws {
        let r = Self.session()
        let scored = Self.domain(r, split)
        let f = Self.flipped(r, in: scored)
        var o = WienerBaseline.Options()
        o.split = split
        let choice = try WienerBaseline.fit(.init(recording: r), options: o).report.choice
        let flippedChoice = try WienerBaseline.fit(.init(recording: f), options: o).report.choice
        #expect(choice == flippedChoice, "choosing looked at the \(split) split")

        // The test has teeth: on the flipped split, λ ranks otherwise than the choice.
        var fixed = o
        fixed.history = Double(choice.past) * o.bin
        let (targets, _, evalFlags) = Tokenizer.sampleTables(f)
        let rows = f.behaviourTimes.indices.filter { scored.contains(f.behaviourTimes[$0]) && evalFlags[$0] }
        var best = (ridge: 0.0, r2: -Double.infinity)
        for lambda in WienerBaseline.ridgeGrid {
            fixed.ridge = lambda
            let filter = try WienerBaseline.fit(.init(recording: f), options: fixed).filter
            let predicted = filter.predict(times: rows.map { f.behaviourTimes[$0] }).map(Double.init)
            let truth = rows.flatMap { i in (0..<f.behaviourDim).map { Double(targets[i * f.behaviourDim + $0]) } }
            let r2 = r2Score(predictions: predicted, targets: truth, dim: f.behaviourDim)
            if r2 > best.r2 { best = (lambda, r2) }
        }
        #expect(best.ridge != choice.ridge, "the flipped \(split) split should favour another λ than \(choice.ridge)")
    }

    @Test func crossValidationFoldsPartitionTheTrainingDomain() {
        let domain = Intervals([Interval(0, 40), Interval(45, 100)])
        let trials = (0..<12).map { Interval(Double($0) * 8 + 1, Double($0) * 8 + 6) }
        let plan = WienerSelectionPlan.crossValidation(fit: domain, trials: trials, folds: 5)
        // Trial 5 ([41, 46)) lies mostly outside the domain: it does not count.
        #expect(plan.method == .trialFolds(k: 5, trials: 11))
        #expect(plan.description == "5-fold over 11 training trials")
        #expect(abs(plan.blocks.reduce(0) { $0 + $1.totalLength } - domain.totalLength) < 1e-9)
        for (i, a) in plan.blocks.enumerated() {
            #expect(abs(Self.intersection(a, domain).totalLength - a.totalLength) < 1e-9)
            for b in plan.blocks[(i + 1)...] { #expect(Self.intersection(a, b).totalLength == 0) }
        }
        #expect(plan.rounds.map(\.leaveOut) == [0, 1, 2, 3, 4])
        #expect(plan.rounds.map(\.heldOut) == plan.blocks)

        // Too few trials: five blocks of equal time.
        let few = WienerSelectionPlan.crossValidation(fit: domain, trials: Array(trials.prefix(3)), folds: 5)
        #expect(few.method == .timeBlocks(k: 5, trials: 3))
        for b in few.blocks { #expect(abs(b.totalLength - domain.totalLength / 5) < 1e-9) }
    }

    @Test func sessionsFollowWhatTheCheckpointTrainedOn() throws {
        let r = Self.session()
        let s = try WienerBaseline.sessions([r], trainedOn: [r.sessionID: .fewShot(.trials(3), seed: 9)])
        let expected = try r.keepingTrainingTrials(.trials(3), seed: RunSeeds(root: 9).fewShot)
        #expect(s[0].recording.trainDomain == expected.recording.trainDomain)
        #expect(s[0].fit == "3 of \(expected.available) training trials")
        let whole = try WienerBaseline.sessions([r], trainedOn: [r.sessionID: .whole])
        #expect(whole[0].recording.trainDomain == r.trainDomain && whole[0].fit == "train")
        #expect(throws: WienerError.self) {
            try WienerBaseline.sessions([r], trainedOn: [r.sessionID: .unknown("no run config")])
        }
        #expect(throws: WienerError.self) { try WienerBaseline.sessions([r], trainedOn: [:]) }
    }
}
