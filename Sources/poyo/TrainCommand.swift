import ArgumentParser
import Compute
import Foundation
import POYO
import POYOData

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train a POYO model.",
        discussion: """
        With no arguments: creates (or reuses) the synthetic dataset in the cache folder and trains the
        1.3M config on the best available device. Writes checkpoint.safetensors, metrics.csv and
        summary.json to --out.
        """)

    @Option(help: "YAML run config (torch_brain key names: model keys, batch_size, steps, optim.base_lr, ...).")
    var config: String?
    @Option(help: "Folder of recordings (.h5 brainsets, .nwb); default: the config's dataset list, else the built-in synthetic dataset.")
    var data: String?
    @Option(help: "Output folder (default: runs/<date-time>).")
    var out: String?
    @Option(help: "Optimizer steps.") var steps: Int?
    @Option(name: .customLong("batch-size"), help: "Windows per batch.") var batchSize: Int?
    @Option(help: "Peak learning rate (default: optim.base_lr × batch size).") var lr: Double?
    @Option(help: "Random seed (model init, sampling, dropout).") var seed: UInt64?
    @OptionGroup var deviceOptions: DeviceOptions

    func validate() throws {
        if let steps, steps <= 0 { throw ValidationError("--steps must be positive") }
        if let batchSize, batchSize <= 0 { throw ValidationError("--batch-size must be positive") }
        if let lr, !(lr > 0 && lr.isFinite) { throw ValidationError("--lr must be a positive number") }
    }

    func run() throws {
        try runReportingErrors {
            var cfg = try config.map { try ConfigFile.load($0) } ?? ConfigFile(model: .poyo1_3M, train: .builtInDefaults)
            if let steps { cfg.train.steps = steps }
            if let batchSize { cfg.train.batchSize = batchSize }
            if let lr { cfg.train.maxLROverride = lr }
            if let seed { cfg.train.seed = seed }
            try cfg.train.validate()

            let (device, deviceNote) = try DeviceSelection(parsing: deviceOptions.device).make()
            if let deviceNote { note(deviceNote) }
            // --data wins over the config's dataset list; with neither, the built-in synthetic data.
            let source: TrainRun.Source
            if let data {
                source = .directory(URL(fileURLWithPath: data))
            } else if let spec = cfg.dataset {
                source = .spec(spec)
            } else {
                source = .directory(try SyntheticCache.ensure(seed: 42))
            }
            let outDir = URL(fileURLWithPath: out ?? "runs/" + RunName.timestamp())
            try TrainRun(config: cfg, device: device, source: source, outDir: outDir).run()
        }
    }
}

extension TrainOptions {
    /// Defaults of `poyo train` on the built-in data: the 1.3M recipe at a peak LR that
    /// converges within the default step budget on 2 CPU cores (see docs/training.md).
    static var builtInDefaults: TrainOptions {
        var o = TrainOptions()
        o.steps = 500
        o.batchSize = 32
        o.baseLR = 3.125e-5
        o.maxLROverride = 4e-3
        o.evalEvery = 100
        return o
    }
}

enum RunName {
    static func timestamp() -> String {
        let f = DateFormatter()
        f.dateFormat = "yyyyMMdd-HHmmss"
        f.locale = Locale(identifier: "en_US_POSIX")
        return f.string(from: Date())
    }
}

/// The built-in synthetic dataset, generated once into the cache folder and reused.
enum SyntheticCache {
    static var root: URL {
        let env = ProcessInfo.processInfo.environment
        if let d = env["POYO_CACHE_DIR"], !d.isEmpty { return URL(fileURLWithPath: d) }
        if let x = env["XDG_CACHE_HOME"], !x.isEmpty { return URL(fileURLWithPath: x).appendingPathComponent("poyo") }
        return FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/poyo")
    }

    static func ensure(seed: UInt64) throws -> URL {
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
