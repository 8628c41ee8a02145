import Foundation
import POYO
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
        #expect(throws: POYOError.self) { try ConfigFile.load("/nonexistent/c.yaml") }
        #expect(throws: POYOError.self) {
            try ConfigFile.load(
                try write(
                    "train_transforms:\n  - {_target_: UnitDropout, min_units: 50, mode_units: 10, max_units: 300}\n"))
        }
    }
}
