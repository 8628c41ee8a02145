import ArgumentParser
import Compute
import DataParallel
import Foundation
import POYO
import POYOData

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train a POYO model.",
        discussion: """
            With no arguments: creates (or reuses) the synthetic dataset in the cache folder and trains the \
            1.3M config on the best available device. The run folder (--out) gets checkpoint.safetensors, \
            best.safetensors, train_state.safetensors, config.yaml, metrics.csv and summary.json.

            Ctrl-C (SIGINT) or SIGTERM finishes the current step, saves, and exits 130 / 143 (a second \
            signal stops at once); `poyo train --resume DIR` then continues the run bit for bit.
            """)

    @Option(help: "YAML run config (torch_brain key names: model keys, batch_size, steps, optim.base_lr, ...).")
    var config: String?
    @Option(
        help:
            ArgumentHelp(
                "Folder of recordings (.h5 brainsets, .nwb); default: the config's dataset list, else the built-in "
                    + "synthetic dataset.")
    )
    var data: String?
    @Option(help: "Run folder (default: runs/<date-time>).")
    var out: String?
    @Option(help: "Continue the run saved in this folder (its own config; only --steps may raise its length).")
    var resume: String?
    @OptionGroup var runOptions: RunOptions
    @OptionGroup var fewShot: FewShotOptions
    @Flag(help: "Also fit the Wiener filter on the same training data and print its R² beside the model's.")
    var baseline = false
    @OptionGroup var deviceOptions: DeviceOptions
    @OptionGroup var distributedOptions: DistributedOptions

    func validate() throws {
        if resume != nil {
            let changed = [
                ("--config", config != nil), ("--data", data != nil), ("--out", out != nil),
                ("--train-trials/--train-fraction", fewShot.fewShot != nil),
                ("--batch-size", runOptions.batchSize != nil), ("--grad-accum", runOptions.gradAccum != nil),
                ("--lr", runOptions.lr != nil),
                ("--seed", runOptions.seed != nil),
            ]
            .filter(\.1).map(\.0)
            if !changed.isEmpty {
                throw ValidationError(
                    "--resume continues a run with its saved settings: \(changed.joined(separator: ", ")) "
                        + "would change its results (only --steps, --device and --checkpoint-every may be given)")
            }
        }
    }

    func run() throws {
        try runReportingErrors {
            let job = try distributedOptions.join()
            do {
                let device = try deviceOptions.make(localRank: (job as? MPICollective)?.localRank ?? 0)
                let session =
                    try resume.map { try resumed($0, device: device, job: job) } ?? fresh(device: device, job: job)
                if let job {
                    session.stepper.gpuExchange = try GPUExchange.make(device: device, job: job, note: note)
                }
                try TrainingCLI.drive(session, baseline: baseline)
            } catch let error where (job?.size ?? 1) > 1 && !(error is ExitCode) {
                // One process failing must end them all at once (the others wait in an exchange).
                job!.abort("\(error)")
            }
        }
    }

    func resumed(_ dir: String, device: Device, job: Collective?) throws -> TrainingSession {
        try TrainingSession.resume(
            folder: URL(fileURLWithPath: dir), device: device, steps: runOptions.steps,
            checkpointEvery: runOptions.checkpointEvery, collective: job, note: note)
    }

    func fresh(device: Device, job: Collective?) throws -> TrainingSession {
        var cfg = try config.map { try ConfigFile.load($0) } ?? ConfigFile(model: .poyo1_3M, train: .builtInDefaults)
        if let f = fewShot.fewShot { cfg.train.fewShot = f }
        try runOptions.apply(to: &cfg)
        // --data wins over the config's dataset list; with neither, the built-in synthetic data.
        if let data {
            cfg.useDataFolder(data)
        } else if cfg.dataset == nil && cfg.dataRoot == nil {
            cfg.dataRoot = try SyntheticCache.ensure(seed: 42, note: note).path
        }
        var outDir = URL(fileURLWithPath: out ?? "runs/" + RunName.timestamp())
        if let job, job.size > 1 {
            // Rank 0's folder (the default name is a time, which may differ by a second).
            let named = try job.allGather(Array(outDir.path.utf8))
            outDir = URL(fileURLWithPath: String(decoding: named[0], as: UTF8.self))
        }
        if (job?.rank ?? 0) == 0 { try requireNoRun(in: outDir) }
        let (dataset, description) = try cfg.loadData()
        return try TrainingSession(
            config: cfg, data: dataset, dataDescription: description, device: device,
            folder: outDir, collective: job, note: note)
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
