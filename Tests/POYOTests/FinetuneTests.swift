import Compute
import Foundation
import POYOData
import TestSupport
import Testing

@testable import POYO

/// Fine-tuning (docs/spec.md §6) in-process: what stays frozen, what learns, what is refused.
@Suite(.serialized) struct FinetuneTests {
    /// Two pretraining sessions and a held-out third (a new animal).
    static func recordings() throws -> [Recording] {
        var c = SyntheticConfig()
        c.trialsPerSession = 16
        return SyntheticDataset.generate(sessions: 2, heldOut: 1, seed: 21, config: c)
    }

    /// Pretrains the small model on the two sessions; returns the checkpoint path.
    static func pretrain() throws -> String {
        let data = try Dataset(recordings: try recordings())
        let s = try Small.session(data, options: Small.options(steps: 4))
        _ = try s.run(observer: nil)
        return s.folder.checkpointPath
    }

    static func finetuneConfig(_ checkpoint: String, mode: FinetuneMode, steps: Int, unitIDSteps: Int? = nil)
        -> ConfigFile
    {
        var o = Small.options(steps: steps)
        o.evalEvery = 0
        var c = ConfigFile(model: Small.config, train: o)
        c.finetune = FinetuneSpec(checkpoint: checkpoint, mode: mode, unitIDSteps: unitIDSteps)
        return c
    }

    static func r2OnPretrainingSessions(_ model: POYOModel) throws -> [String: Double] {
        let known = try recordings().filter { !$0.heldOut }
        let tok = try Tokenizer(
            recordings: known, unitVocabulary: model.unitVocab, sessionVocabulary: model.sessionVocab,
            config: TokenizerConfig(numLatentsPerStep: Small.config.numLatentsPerStep))
        return try Evaluator.evaluate(model: model, tokenizer: tok, split: .valid, batchSize: 8).r2
    }

    /// After unit identification every pretrained tensor, and every pretrained row of the embedding
    /// tables, is bit-identical to the checkpoint; the new rows learned; the pretraining sessions
    /// decode exactly as before.
    @Test func unitIDFreezesEverythingButTheNewRows() throws {
        let ckpt = try Self.pretrain()
        let (before, _) = try Checkpoint.load(ckpt, device: CPUDevice())
        let data = try Dataset(recordings: try Self.recordings())
        let s = try TrainingSession(
            config: Self.finetuneConfig(ckpt, mode: .unitID, steps: 5), data: data, dataDescription: "synthetic",
            device: CPUDevice(), folder: try makeTempDirectory("finetune"))
        #expect(s.tokenizer.recordings.map(\.sessionID) == ["synth_s02_center_out"])
        let initialUnits = try s.device.download(s.model.params.unitEmbedding.value)
        _ = try s.run(observer: nil)
        let (after, _) = try Checkpoint.load(s.folder.checkpointPath, device: CPUDevice())
        #expect(after.unitVocab.words.prefix(before.unitVocab.count) == before.unitVocab.words[...])
        #expect(after.sessionVocab.count == before.sessionVocab.count + 1)
        for (p, q) in zip(before.params.all, after.params.all) {
            let old = try before.device.download(p.value)
            let new = try after.device.download(q.value)
            #expect(Array(new.prefix(old.count)) == old, "\(p.name) changed")
            if p === before.params.unitEmbedding {
                // The new rows learned.
                #expect(Array(new[old.count...]) != Array(initialUnits[old.count...]), "new unit rows did not train")
            }
        }
        #expect(try Self.r2OnPretrainingSessions(after) == Self.r2OnPretrainingSessions(before))
    }

    /// `full`: the core stays frozen for `unitIDSteps`, then learns.
    @Test func fullUnfreezesAfterUnitIDSteps() throws {
        let ckpt = try Self.pretrain()
        let (before, _) = try Checkpoint.load(ckpt, device: CPUDevice())
        let data = try Dataset(recordings: try Self.recordings())
        let config = Self.finetuneConfig(ckpt, mode: .full, steps: 6, unitIDSteps: 3)
        let s = try TrainingSession(
            config: config, data: data, dataDescription: "synthetic", device: CPUDevice(),
            folder: try makeTempDirectory("finetune"))
        let original = try before.device.download(before.params.decoder.toQ.weight.value)
        let core = s.model.params.decoder.toQ.weight.value
        for _ in 0..<3 { _ = try s.step() }
        #expect(try s.device.download(core) == original, "core moved during unit identification")
        _ = try s.step()
        #expect(try s.device.download(core) != original, "core frozen after unfreezing")
    }

    /// Fine-tuning drops units as every reference fine-tuning config does (60/300/1000), not as
    /// pretraining does (30/100/300); a config's `train_transform` still decides.
    @Test func finetuneUsesTheReferenceUnitDropout() throws {
        for mode in FinetuneMode.allCases {
            let u = try #require(TrainOptions.finetuneDefaults(mode).unitDropout)
            #expect(u.minUnits == 60 && u.modeUnits == 300 && u.maxUnits == 1000 && u.peak == 4)
        }
        #expect(TrainOptions().unitDropout?.minUnits == 30 && TrainOptions().unitDropout?.maxUnits == 300)
        let yaml = "train_transforms:\n  - {_target_: UnitDropout, min_units: 10, mode_units: 20, max_units: 40}\n"
        let c = try ConfigFile.parse(yaml: yaml, path: "ft.yaml", trainDefaults: TrainOptions.finetuneDefaults(.unitID))
        #expect(c.train.unitDropout?.minUnits == 10 && c.train.unitDropout?.maxUnits == 40)
    }

    /// docs/configs reproduce the reference fine-tuning recipes docs/finetune.md states.
    @Test func theReferenceRecipeConfigsParseToTheirRecipes() throws {
        let dir = packageRoot().appendingPathComponent("docs/configs")
        let expected: [(String, Int, Double)] = [
            ("finetune-kirby.yaml", 128, 1e-4), ("finetune-poyo-plus.yaml", 64, 2e-3),
        ]
        for (name, batch, peak) in expected {
            let c = try ConfigFile.load(
                dir.appendingPathComponent(name).path, trainDefaults: TrainOptions.finetuneDefaults(.unitID))
            #expect(c.train.batchSize == batch && c.train.epochs == 100, "\(name)")
            #expect(abs(c.train.maxLR - peak) < 1e-12, "\(name): \(c.train.maxLR)")
            #expect(c.train.weightDecay == 1e-4 && c.train.lrDecayStart == 0.5, "\(name)")
            #expect(c.train.unitDropout == UnitDropout(minUnits: 60, modeUnits: 300, maxUnits: 1000, peak: 4))
        }
    }

    @Test func aNewSessionOnAnotherScaleIsWarnedAbout() throws {
        let r = try Self.recordings()[2]
        func settings(_ std: Float, preset: String?) -> RecordingSettings {
            RecordingSettings(
                behaviour: "cursor", normalizeMean: [0, 0], normalizeStd: [std, std], weights: [:], evalInterval: "all",
                split: .file, preset: preset)
        }
        let pretrained = ["a": settings(20, preset: "perich_co"), "b": settings(20, preset: "perich_co")]
        let same = FinetuneStart.normalisationWarnings(
            new: [r], settings: [r.sessionID: settings(20, preset: nil)], pretrained: pretrained)
        #expect(same.isEmpty)
        let other = FinetuneStart.normalisationWarnings(
            new: [r], settings: [r.sessionID: settings(7.5, preset: nil)], pretrained: pretrained)
        #expect(other.count == 1)
        #expect(other.first?.contains("(v − 0,0) / 7.5,7.5 (no preset)") == true, "\(other)")
        #expect(other.first?.contains("(v − 0,0) / 20,20 (preset perich_co)") == true, "\(other)")
        #expect(FinetuneStart.normalisationWarnings(new: [r], settings: [:], pretrained: [:]).isEmpty)
    }

    @Test func refusals() throws {
        let ckpt = try Self.pretrain()
        let all = try Self.recordings()
        // Only sessions the checkpoint knows.
        let known = try Dataset(recordings: all.filter { !$0.heldOut })
        let noNew = #expect(throws: POYOError.self) {
            try TrainingSession(
                config: Self.finetuneConfig(ckpt, mode: .unitID, steps: 2), data: known, dataDescription: "known",
                device: CPUDevice(), folder: try makeTempDirectory("finetune"))
        }
        #expect("\(noNew.map { "\($0)" } ?? "")".contains("no new session"))
        // A new session whose units are all in the vocabulary already.
        var renamed = all[0]
        renamed.sessionID = "renamed_session"
        let allKnown = #expect(throws: POYOError.self) {
            try TrainingSession(
                config: Self.finetuneConfig(ckpt, mode: .unitID, steps: 2),
                data: try Dataset(recordings: [renamed]), dataDescription: "renamed", device: CPUDevice(),
                folder: try makeTempDirectory("finetune"))
        }
        #expect("\(allKnown.map { "\($0)" } ?? "")".contains("nothing for unit identification to learn"))
        // A model config that is not the checkpoint's.
        var other = Self.finetuneConfig(ckpt, mode: .unitID, steps: 2)
        other.model.dim = 48
        let mismatch = #expect(throws: POYOError.self) {
            try TrainingSession(
                config: other, data: try Dataset(recordings: all), dataDescription: "all", device: CPUDevice(),
                folder: try makeTempDirectory("finetune"))
        }
        #expect("\(mismatch.map { "\($0)" } ?? "")".contains("does not match"))
        // AdamW cannot train a row range.
        var adamw = Self.finetuneConfig(ckpt, mode: .unitID, steps: 2)
        adamw.train.optimizer = .adamw
        #expect(throws: POYOError.self) {
            try TrainingSession(
                config: adamw, data: try Dataset(recordings: all), dataDescription: "all", device: CPUDevice(),
                folder: try makeTempDirectory("finetune"))
        }
    }
}
