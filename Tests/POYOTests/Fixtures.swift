import Compute
import Foundation
import POYO
import POYOData
import TestSupport

/// A small POYO (dim 32, depth 1, 4 latents/step) and a small synthetic dataset, quick in debug builds.
enum Small {
    static let config = POYOConfig(
        dim: 32, depth: 1, crossHeads: 1, selfHeads: 2, numLatentsPerStep: 4,
        ffnDropout: 0.1, linDropout: 0.1, atnDropout: 0.1)

    static func dataset(seed: UInt64 = 3, trials: Int = 16) throws -> Dataset {
        var c = SyntheticConfig()
        c.trialsPerSession = trials
        return try Dataset(recordings: SyntheticDataset.generate(sessions: 2, heldOut: 0, seed: seed, config: c))
    }

    static func model(_ data: Dataset, device: Device = CPUDevice(), seed: UInt64 = 1) throws -> POYOModel {
        let m = try POYOModel(
            config: config, unitVocab: data.unitVocabulary, sessionVocab: data.sessionVocabulary, device: device)
        try m.params.initialize(seed: seed)
        return m
    }

    /// A training session of the small config on `data`, writing into a fresh temporary folder.
    static func session(_ data: Dataset, options: TrainOptions = options(), device: Device = CPUDevice()) throws
        -> TrainingSession
    {
        try TrainingSession(
            config: ConfigFile(model: config, train: options), data: data,
            dataDescription: "small synthetic", device: device, folder: try makeTempDirectory("session"))
    }

    static func options(steps: Int = 6, seed: UInt64 = 5) -> TrainOptions {
        var o = TrainOptions()
        o.steps = steps
        o.batchSize = 4
        o.maxLROverride = 3e-3
        o.seed = seed
        o.evalBatchSize = 8
        return o
    }
}
