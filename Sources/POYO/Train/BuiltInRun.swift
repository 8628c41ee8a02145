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

/// The built-in synthetic dataset, generated once into the cache folder and reused.
public enum SyntheticCache {
    /// `$POYO_CACHE_DIR`, else `$XDG_CACHE_HOME/poyo`, else `~/.cache/poyo`.
    public static var root: URL {
        let env = ProcessInfo.processInfo.environment
        if let d = env["POYO_CACHE_DIR"], !d.isEmpty { return URL(fileURLWithPath: d) }
        if let x = env["XDG_CACHE_HOME"], !x.isEmpty { return URL(fileURLWithPath: x).appendingPathComponent("poyo") }
        return FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/poyo")
    }

    /// The dataset's folder, written first if absent; `note` hears what happened.
    public static func ensure(seed: UInt64, note: (String) -> Void) throws -> URL {
        let dir = root.appendingPathComponent("synthetic-v1-seed\(seed)")
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
