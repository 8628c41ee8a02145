import Compute
import Foundation
import POYO
import POYOData
import TestSupport
import Testing

/// `TrainingSession` in-process: what `run` reports, and save / restore giving the same run.
@Suite struct TrainingSessionTests {
    /// Records everything a run reports.
    final class Recorder: TrainingObserver {
        var steps: [StepReport] = []
        var validations: [(step: Int, r2: Double, best: Bool)] = []
        var saves: [Int] = []
        func stepped(_ r: StepReport) { steps.append(r) }
        func validated(_ v: EvaluationResult, step: Int, isBest: Bool) { validations.append((step, v.mean, isBest)) }
        func saved(step: Int, folder: URL) { saves.append(step) }
    }

    static func options(steps: Int) -> TrainOptions {
        var o = Small.options(steps: steps)
        o.evalEvery = 3
        o.checkpointEvery = 2
        return o
    }

    @Test func runReportsStepsValidationsAndSaves() throws {
        let data = try Small.dataset()
        let s = try Small.session(data, options: Self.options(steps: 7))
        let rec = Recorder()
        let outcome = try s.run(observer: rec)
        guard case .finished(let v?) = outcome else {
            Issue.record("expected a finished run")
            return
        }
        #expect(rec.steps.map(\.step) == Array(1...7))
        #expect(rec.validations.map(\.step) == [3, 6, 7])
        #expect(rec.validations.last?.r2 == v.mean)
        #expect(rec.saves == [2, 4, 6, 7])
        #expect(s.best?.r2 == rec.validations.map(\.r2).max())
        for f in [
            "checkpoint.safetensors", "best.safetensors", "train_state.safetensors", "config.yaml",
            "metrics.csv", "summary.json",
        ] {
            #expect(FileManager.default.fileExists(atPath: s.folder.path(f)), "missing \(f)")
        }
    }

    /// `eval_sessions`: validations before the last step score the same seeded sample of sessions,
    /// the last scores them all, and the best model is chosen on the sample's R² (issue 24).
    @Test func evalSessionsScoresASampleUntilTheEnd() throws {
        let data = try Small.dataset()
        var o = Self.options(steps: 7)
        o.evalSessions = 1
        let s = try Small.session(data, options: o)
        let sample = try #require(s.evalSample)
        #expect(sample.count == 1)
        final class Sessions: TrainingObserver {
            var scored: [[String]] = []
            func validated(_ v: EvaluationResult, step: Int, isBest: Bool) { scored.append(v.r2.keys.sorted()) }
        }
        let seen = Sessions()
        guard case .finished(let last?) = try s.run(observer: seen) else {
            Issue.record("expected a finished run")
            return
        }
        let sampled = s.tokenizer.recordings[Int(sample.first!)].sessionID
        let all = s.tokenizer.recordings.map(\.sessionID).sorted()
        #expect(all.count > 1)
        #expect(seen.scored == [[sampled], [sampled], all])
        // The best is chosen on the sampled session's R², the last validation's included.
        #expect(s.selectionR2(last) == last.r2[sampled])
        // The same sample after a restart with the same seed.
        let again = try Small.session(data, options: o)
        #expect(again.evalSample == sample)
    }

    /// A run stopped after 4 steps and restored into a new session continues with exactly the
    /// losses of an uninterrupted run.
    @Test func stopAndRestoreContinuesExactly() throws {
        let data = try Small.dataset()
        let whole = Recorder()
        _ = try Small.session(data, options: Self.options(steps: 8)).run(observer: whole)

        let first = try Small.session(data, options: Self.options(steps: 8))
        let part = Recorder()
        let outcome = try first.run(observer: part, shouldStop: { part.steps.count >= 4 })
        guard case .stopped(let at) = outcome else {
            Issue.record("expected a stop")
            return
        }
        #expect(at == 4)

        let second = try TrainingSession.resume(
            folder: first.folder.url, device: CPUDevice(), data: (data, "small synthetic"))
        #expect(second.completedSteps == 4 && second.resumedFrom == 4)
        let rest = Recorder()
        _ = try second.run(observer: rest)
        #expect(whole.steps.map(\.loss) == (part.steps + rest.steps).map(\.loss))
        #expect(whole.validations.map(\.r2) == (part.validations + rest.validations).map(\.r2))
    }
}
