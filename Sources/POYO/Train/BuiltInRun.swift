import Foundation
import POYOData

extension TrainOptions {
    /// Defaults of `poyo train` on the built-in data: the 1.3M recipe at a peak LR that
    /// converges within the default step budget on 2 CPU cores (see docs/training.md).
    public static var builtInDefaults: TrainOptions {
        var o = TrainOptions()
        o.steps = 500
        o.batchSize = 32
        o.baseLR = 3.125e-5
        o.maxLROverride = 4e-3
        o.evalEvery = 100
        return o
    }
}

extension TrainOptions {
    /// Defaults of `poyo finetune`: a one-to-two-minute CPU run on one new session, 200 steps of 16
    /// windows, validation every 50. Peak LR 0.1 for `unit-id` (only new embedding rows move; LAMB's
    /// trust ratio scales the step to their norm) and 0.01 for `full` (0.1 wrecks the pretrained core).
    /// Measured on the synthetic new animal (docs/finetune.md). Unit dropout 60/300/1000, the
    /// reference fine-tuning configs' (pretraining uses 30/100/300).
    public static func finetuneDefaults(_ mode: FinetuneMode) -> TrainOptions {
        var o = TrainOptions()
        o.steps = 200
        o.batchSize = 16
        o.maxLROverride = mode == .unitID ? 0.1 : 0.01
        o.evalEvery = 50
        // Every reference fine-tuning config drops units less than pretraining does (torch_brain
        // @9e1ac23 configs/unit_identification.yaml and finetune.yaml, @76b7a8b poyo_plus finetune.yaml):
        // a new session's few units are what it learns from.
        o.unitDropout = UnitDropout(minUnits: 60, modeUnits: 300, maxUnits: 1000, peak: 4)
        return o
    }
}

/// The built-in synthetic dataset, generated once into the cache folder and reused.
public enum SyntheticCache {
    /// `$POYO_CACHE_DIR`, else `$XDG_CACHE_HOME/poyo`, else `~/.cache/poyo` (`CacheFolder`).
    public static var root: URL { CacheFolder.root }

    /// The dataset's folder, written first if absent; `note` hears what happened.
    public static func ensure(seed: UInt64, note: (String) -> Void) throws -> URL {
        // The version names the file layout: bump it when the writer changes, so a folder written by
        // an older poyo (v1: no movement_phases/domain, which torch_brain needs) is never reused.
        let dir = root.appendingPathComponent("synthetic-v2-seed\(seed)")
        if FileManager.default.fileExists(atPath: dir.path) {
            note("data: reusing synthetic dataset in \(dir.path)")
            return dir
        }
        note("data: writing synthetic dataset to \(dir.path)")
        // Written beside, then renamed: an interrupted run never leaves a partial dataset to reuse.
        let tmp = root.appendingPathComponent(".synthetic-tmp-\(ProcessInfo.processInfo.processIdentifier)")
        try? FileManager.default.removeItem(at: tmp)
        try SyntheticDataset.write(to: tmp, seed: seed)
        if rename(tmp.path, dir.path) != 0, !FileManager.default.fileExists(atPath: dir.path) {
            throw DataError.io(path: dir.path, reason: "cannot move the generated dataset into place")
        }
        try? FileManager.default.removeItem(at: tmp)
        return dir
    }
}
