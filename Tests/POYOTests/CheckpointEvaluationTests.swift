import Compute
import Foundation
import POYO
import POYOData
import TestSupport
import Testing

/// Scoring a checkpoint in-process (what `poyo eval` prints): the known sessions are scored as the
/// Evaluator scores them directly, unknown ones are skipped, and bad requests are refused.
@Suite struct CheckpointEvaluationTests {
    /// Two sessions written as brainsets files, a model trained on them in memory, and its checkpoint.
    static func trainedOnFolder() throws -> (folder: URL, checkpoint: String, recordings: [Recording]) {
        var c = SyntheticConfig()
        c.trialsPerSession = 12
        let recordings = SyntheticDataset.generate(sessions: 2, heldOut: 0, seed: 33, config: c)
        let folder = try makeTempDirectory("eval-data")
        for r in recordings {
            try BrainsetsWriter.write(r, to: folder.appendingPathComponent(r.sessionID + ".h5"))
        }
        let s = try Small.session(try Dataset(recordings: recordings), options: Small.options(steps: 3))
        _ = try s.run(observer: nil)
        return (folder, s.folder.checkpointPath, recordings)
    }

    @Test func scoresTheKnownSessionsAsTheEvaluatorDoes() throws {
        let (folder, checkpoint, _) = try Self.trainedOnFolder()
        var request = CheckpointEvaluation.Request(checkpoint: checkpoint)
        request.dataFolder = folder.path
        request.batchSize = 8
        var notes: [String] = []
        let e = try CheckpointEvaluation.run(request, device: CPUDevice(), note: { notes.append($0) })
        #expect(Set(e.result.r2.keys) == Set(e.recordings.map(\.sessionID)))
        #expect(e.recordings.count == 2 && e.settingsSource == "checkpoint" && e.wiener == nil)
        // The same model on the same recordings through the Evaluator directly: the same figures.
        let (model, _) = try Checkpoint.load(checkpoint, device: CPUDevice())
        let tokenizer = try Tokenizer(
            recordings: e.recordings, unitVocabulary: model.unitVocab, sessionVocabulary: model.sessionVocab,
            config: TokenizerConfig(model: model.config))
        let direct = try Evaluator.evaluate(model: model, tokenizer: tokenizer, split: .valid, batchSize: 8)
        #expect(direct.r2 == e.result.r2)
        // A run on in-memory recordings stores no data settings, and the evaluation says how it read the files.
        #expect(notes.contains { $0.contains("carries no data settings") && $0.contains("inferred") }, "\(notes)")
    }

    @Test func refusesWhatItCannotScore() throws {
        let (folder, checkpoint, _) = try Self.trainedOnFolder()
        var noData = CheckpointEvaluation.Request(checkpoint: checkpoint)
        #expect(throws: POYOError.self) { try CheckpointEvaluation.run(noData, device: CPUDevice(), note: { _ in }) }
        noData.dataFolder = folder.path
        noData.baseline = true
        noData.split = .train
        #expect(throws: POYOError.self) { try CheckpointEvaluation.run(noData, device: CPUDevice(), note: { _ in }) }
        // A folder whose sessions the checkpoint does not know: nothing to score, said by name.
        var other = SyntheticConfig()
        other.trialsPerSession = 8
        var stranger = SyntheticDataset.generate(sessions: 1, heldOut: 0, seed: 34, config: other)[0]
        stranger.sessionID = "unknown_session"
        let strangerFolder = try makeTempDirectory("eval-stranger")
        try BrainsetsWriter.write(stranger, to: strangerFolder.appendingPathComponent("x.h5"))
        var unknown = CheckpointEvaluation.Request(checkpoint: checkpoint)
        unknown.dataFolder = strangerFolder.path
        do {
            _ = try CheckpointEvaluation.run(unknown, device: CPUDevice(), note: { _ in })
            Issue.record("a folder of unknown sessions was scored")
        } catch {
            #expect("\(error)".contains("no session"), "\(error)")
        }
    }
}
