import Compute
import Foundation
import POYO
import POYOData
import TestSupport
import Testing

@Suite struct ConfigFileTests {
    func write(_ yaml: String) throws -> String {
        let dir = try makeTempDirectory()
        let p = dir.appendingPathComponent("c.yaml").path
        try yaml.write(toFile: p, atomically: true, encoding: .utf8)
        return p
    }

    /// `yaml()` writes what the parser reads back to an equal config: the built-in defaults, a
    /// dataset list with every kind of entry (the three-session fixture), AdamW without dropout.
    @Test func yamlRoundTrips() throws {
        var adamw = ConfigFile(model: .poyo11_8M, train: .builtInDefaults)
        adamw.train.optimizer = .adamw
        adamw.train.unitDropout = nil
        adamw.train.checkpointEvery = 7
        adamw.train.seed = 123_456_789_012
        adamw.dataRoot = "/data/with \"quotes\" and spaces"
        let fixture = try ConfigFile.load(
            packageRoot().appendingPathComponent("Tests/Fixtures/three_sessions.yaml").path)
        for original in [ConfigFile(model: .poyo1_3M, train: .builtInDefaults), adamw, fixture] {
            let text = original.yaml()
            let back = try ConfigFile.parse(yaml: text, path: try write(text))
            #expect(back.model == original.model)
            #expect(back.train == original.train)
            #expect(back.dataRoot == original.dataRoot)
            #expect(back.dataset?.recordings.count == original.dataset?.recordings.count)
            #expect(back.yaml() == text, "not a fixed point:\n\(text)\n---\n\(back.yaml())")
        }
        #expect(fixture.yaml().contains("sequence_length: 1.0"))
    }

    @Test func torchBrainKeys() throws {
        let p = try write(
            """
            model:
              _target_: torch_brain.models.POYO
              dim: 128
              depth: 24
              cross_heads: 4
              num_latents_per_step: 32
            batch_size: 64
            steps: 10
            seed: 7
            optim:
              base_lr: 3.125e-5
              weight_decay: 1e-4
              lr_decay_start: 0.5
            train_transforms:
              - _target_: torch_brain.transforms.UnitDropout
                min_units: 60
                mode_units: 300
                max_units: 1000
                peak: 4
            wandb:
              mode: disabled
            """)
        let c = try ConfigFile.load(p)
        #expect(c.model == POYOConfig.poyo11_8M)
        #expect(c.train.batchSize == 64 && c.train.steps == 10 && c.train.seed == 7)
        #expect(abs(c.train.maxLR - 3.125e-5 * 64) < 1e-15)
        #expect(c.train.weightDecay == 1e-4)
        #expect(c.train.unitDropout?.minUnits == 60 && c.train.unitDropout?.maxUnits == 1000)
    }

    @Test func unknownKeysAndBadValuesAreErrors() throws {
        #expect(throws: POYOError.self) { try ConfigFile.load(try write("dimm: 3\n")) }
        #expect(throws: POYOError.self) { try ConfigFile.load(try write("dim: -4\n")) }
        #expect(throws: POYOError.self) { try ConfigFile.load(try write("batch_size: many\n")) }
        #expect(throws: POYOError.self) { try ConfigFile.load(try write("atn_dropout: 1.5\n")) }
        #expect(throws: POYOError.self) { try ConfigFile.load(try write(": : :\n  - [")) }
        // Found by the config fuzzer: a mapping key that is not text trapped inside Yams (exit 132).
        #expect(throws: POYOError.self) { try ConfigFile.load(try write("? [a, b]\n: 1\n")) }
        #expect(throws: POYOError.self) { try ConfigFile.load(try write("model:\n  ? {dim: 1}\n  : 2\n")) }
        let deep = String(repeating: "[", count: 200) + String(repeating: "]", count: 200)
        #expect(throws: POYOError.self) { try ConfigFile.load(try write("dataset: " + deep + "\n")) }
        #expect(throws: POYOError.self) { try ConfigFile.load("/nonexistent/c.yaml") }
        #expect(throws: POYOError.self) {
            try ConfigFile.load(
                try write(
                    "train_transforms:\n  - {_target_: UnitDropout, min_units: 50, mode_units: 10, max_units: 300}\n"))
        }
    }
}

/// torch_brain's current config keys: `train_transform`, `epochs`, `eval_epochs`, `defaults`.
@Suite struct TorchBrainConfigKeyTests {
    func parse(_ yaml: String) throws -> ConfigFile { try ConfigFile.load(try ConfigFileTests().write(yaml)) }

    @Test func trainTransformAsOneTransformOrACompose() throws {
        let one = try parse(
            """
            train_transform:
              _target_: torch_brain.transforms.UnitDropout
              min_units: 40
              mode_units: 120
              max_units: 500
              peak: 4
            """)
        #expect(one.train.unitDropout?.minUnits == 40 && one.train.unitDropout?.maxUnits == 500)
        let compose = try parse(
            """
            train_transform:
              _target_: torch_brain.transforms.Compose
              transforms:
                - _target_: torch_brain.transforms.UnitDropout
                  min_units: 35
                  mode_units: 90
                  max_units: 250
            """)
        #expect(compose.train.unitDropout?.minUnits == 35 && compose.train.unitDropout?.maxUnits == 250)
        #expect(throws: POYOError.self) {
            try parse("train_transform: []\ntrain_transforms: []\n")
        }
    }

    @Test func defaultsChooseABuiltInModel() throws {
        let c = try parse("defaults:\n  - _self_\n  - model: poyo_11.8M.yaml\ndim: 96\n")
        #expect(c.model.depth == POYOConfig.poyo11_8M.depth && c.model.crossHeads == 4 && c.model.dim == 96)
        #expect(c.modelGiven)
        let unknown = #expect(throws: POYOError.self) { try parse("defaults:\n  - model: poyo_99M\n") }
        #expect("\(unknown.map { "\($0)" } ?? "")".contains("poyo_1.3M"))
        let dataset = #expect(throws: POYOError.self) { try parse("defaults:\n  - dataset: perich\n") }
        #expect("\(dataset.map { "\($0)" } ?? "")".contains("dataset"))
    }

    @Test func epochsAreWholeBatchesPerEpoch() throws {
        #expect(throws: POYOError.self) { try parse("epochs: 3\nsteps: 10\n") }
        var cfg = try parse("epochs: 3\neval_epochs: 1\nbatch_size: 4\n")
        #expect(cfg.train.epochs == 3)
        cfg.model = Small.config
        let data = try Small.dataset()
        let windows = RandomFixedWindowSampler(intervals: data.recordings.map(\.trainDomain), windowLength: 1)
            .estimatedCount
        let s = try TrainingSession(
            config: cfg, data: data, dataDescription: "small", device: CPUDevice(), folder: try makeTempDirectory())
        #expect(s.options.steps == 3 * (windows / 4) && s.options.evalEvery == windows / 4)
        #expect(s.options.epochs == nil)
    }
}
