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
