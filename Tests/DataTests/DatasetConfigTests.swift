import Foundation
import POYO
import POYOData
import TestSupport
import Testing

/// The `dataset:` section of a run config (POYO's `DatasetConfig`) into POYOData's `DatasetSpec`.
@Suite struct DatasetConfigTests {
    @Test func theExampleConfigListsThreeRecordings() throws {
        let path = Fixtures.url("three_sessions.yaml").path
        let spec = try DatasetConfig.load(path)
        #expect(spec.baseDirectory?.standardizedFileURL == Fixtures.directory.standardizedFileURL)
        #expect(
            spec.recordings.map(\.path) == ["nlb_maze_jenkins.nwb", "nlb_maze_nitschke.nwb", "perich_c_center_out.h5"])
        #expect(spec.recordings[0].split == .splitColumn(validFraction: 0.2, seed: 42))
        #expect(spec.recordings[1].format == .nwb && spec.recordings[1].normalizeStd == [100])
        let perich = spec.recordings[2]
        #expect(perich.behaviour == "cursor.vel" && perich.normalizeMean == [0] && perich.normalizeStd == [20])
        #expect(
            perich.weights == [
                "movement_phases.hold_period": 0.1, "movement_phases.reach_period": 5,
                "movement_phases.return_period": 1, "cursor_outlier_segments": 0,
            ])
        #expect(perich.evalInterval == "movement_phases.reach_period" && perich.split == .file)
        let d = try spec.load()
        #expect(d.sessionIDs == ["nlb_maze_jenkins", "nlb_maze_nitschke", "c_20131003_center_out_reaching"])
        #expect(d.recordings[2].lossWeights.count == 4)
        // The run-config part of the same file still parses (ConfigFile ignores `dataset`).
        #expect(try ConfigFile.load(path).model.dim == 32)
    }

    @Test func torchBrainNestedReadoutAndSplitMappings() throws {
        let yaml: [Any] = [
            [
                "path": "a.nwb", "split": ["rule": "trials", "ratios": [0.8, 0.1, 0.1], "seed": 7],
                "config": [
                    "multitask_readout": [
                        [
                            "normalize_mean": 0, "normalize_std": "20", "eval_interval": "all",
                            "weights": ["trials": 2],
                        ]
                    ]
                ],
            ],
            "b.h5",
            [
                "path": "c.nwb", "split": ["rule": "nlb", "valid_fraction": 0.25], "normalize_std": [10, 20],
                "held_out": true,
            ],
        ]
        let spec = try DatasetConfig.parse(yaml, configPath: "/tmp/run.yaml")
        #expect(spec.recordings[0].split == .trials(train: 0.8, valid: 0.1, test: 0.1, seed: 7))
        #expect(spec.recordings[0].normalizeStd == [20] && spec.recordings[0].evalInterval == "all")
        #expect(spec.recordings[0].weights == ["trials": 2])
        #expect(spec.recordings[1] == RecordingSpec(path: "b.h5"))
        #expect(spec.recordings[2].split == .splitColumn(validFraction: 0.25, seed: 42))
        #expect(spec.recordings[2].normalizeStd == [10, 20] && spec.recordings[2].heldOut == true)
        #expect(spec.baseDirectory?.path == "/tmp")
    }

    @Test func mistakesAreNamed() {
        func message(_ node: Any) -> String {
            do {
                _ = try DatasetConfig.parse(node, configPath: "run.yaml")
                return ""
            } catch { return "\(error)" }
        }
        #expect(message([]).contains("run.yaml: 'dataset' must be a non-empty list"))
        #expect(
            message([["path": "a.nwb", "normalise_std": 1]]).contains(
                "run.yaml: dataset[0]: unknown key 'normalise_std'"))
        #expect(message([["format": "nwb"]]).contains("dataset[0]: 'path' (a string) is required"))
        #expect(
            message(["a.nwb", ["path": "b.nwb", "format": "mat"]]).contains(
                "dataset[1]: 'format' must be nwb, brainsets or auto"))
        #expect(message([["path": "a.nwb", "split": "random"]]).contains("unknown split rule 'random'"))
        #expect(
            message([["path": "a.nwb", "split": ["rule": "trials", "ratios": [0.5, 0.5, 0.5]]]]).contains("sum to 1"))
        #expect(message([["path": "a.nwb", "normalize_std": 0]]).contains("'normalize_std' must be positive"))
    }
}
