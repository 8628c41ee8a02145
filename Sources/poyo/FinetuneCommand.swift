import ArgumentParser
import Compute
import Foundation
import POYO
import POYOData

struct Finetune: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Adapt a pretrained POYO model to new sessions (new neurons, maybe a new animal).",
        discussion: """
            Extends the checkpoint's vocabularies with the new sessions' unit and session ids (the pretrained \\
            rows are kept, so the model still decodes the pretraining sessions) and trains on the sessions the \\
            checkpoint does not know. --mode unit-id trains only the new embedding rows; --mode full does \\
            that for --unit-id-steps, then trains every tensor. The output is a run folder like poyo train's: \\
            poyo eval reads its checkpoint, and poyo train --resume DIR continues it.
            """)

    @Option(help: "Pretrained checkpoint.safetensors (from poyo train).") var checkpoint: String
    @Option(help: "Folder of the new recordings (.h5 brainsets, .nwb); sessions the checkpoint knows are skipped.")
    var data: String?
    @Option(help: "YAML run config (training keys; model keys must match the checkpoint's, or be absent).")
    var config: String?
    @Option(help: "unit-id (only the new embedding rows learn) or full.") var mode = "unit-id"
    @Option(name: .customLong("unit-id-steps"), help: "full: steps of unit identification first (default: a tenth).")
    var unitIDSteps: Int?
    @Option(
        name: .customLong("train-trials"), help: "Train on this many of each new session's training trials (seeded).")
    var trainTrials: Int?
    @Option(
        name: .customLong("train-fraction"),
        help: "Train on this fraction (0, 1] of each new session's training trials.")
    var trainFraction: Double?
    @Option(help: "Run folder (default: runs/finetune-<date-time>).") var out: String?
    @Option(help: "Optimizer steps (default 200).") var steps: Int?
    @Option(name: .customLong("batch-size"), help: "Windows per batch (default 16).") var batchSize: Int?
    @Option(help: "Peak learning rate (default: 0.1 for unit-id, 0.01 for full).") var lr: Double?
    @Option(help: "Random seed (new rows, sampling, dropout).") var seed: UInt64?
    @Option(name: .customLong("checkpoint-every"), help: "Save checkpoint and train state every N steps.")
    var checkpointEvery: Int?
    @OptionGroup var deviceOptions: DeviceOptions

    func validate() throws {
        guard FinetuneMode(rawValue: mode) != nil else { throw ValidationError("--mode must be unit-id or full") }
        if let steps, steps <= 0 { throw ValidationError("--steps must be positive") }
        if let batchSize, batchSize <= 0 { throw ValidationError("--batch-size must be positive") }
        if let lr, !(lr > 0 && lr.isFinite) { throw ValidationError("--lr must be a positive number") }
        if let unitIDSteps, unitIDSteps < 0 { throw ValidationError("--unit-id-steps must be >= 0") }
        if unitIDSteps != nil && mode != "full" { throw ValidationError("--unit-id-steps applies to --mode full") }
        if let checkpointEvery, checkpointEvery <= 0 { throw ValidationError("--checkpoint-every must be positive") }
        if trainTrials != nil && trainFraction != nil {
            throw ValidationError("give --train-trials or --train-fraction, not both")
        }
        if let trainTrials, trainTrials < 1 { throw ValidationError("--train-trials must be at least 1") }
        if let trainFraction, !(trainFraction > 0 && trainFraction <= 1) {
            throw ValidationError("--train-fraction must be in (0, 1]")
        }
    }

    func run() throws {
        try runReportingErrors {
            let (device, deviceNote) = try DeviceSelection(parsing: deviceOptions.device).make()
            if let deviceNote { note(deviceNote) }
            let pretrained = try Checkpoint.config(of: checkpoint)
            var cfg =
                try config.map { try ConfigFile.load($0) }
                ?? ConfigFile(model: pretrained, train: .finetuneDefaults(FinetuneMode(rawValue: mode)!))
            if !cfg.modelGiven { cfg.model = pretrained }
            cfg.finetune = FinetuneSpec(
                checkpoint: URL(fileURLWithPath: checkpoint).standardizedFileURL.path,
                mode: FinetuneMode(rawValue: mode)!, unitIDSteps: unitIDSteps)
            if let trainTrials { cfg.finetune?.fewShot = .trials(trainTrials) }
            if let trainFraction { cfg.finetune?.fewShot = .fraction(trainFraction) }
            if let steps { cfg.train.steps = steps }
            if let batchSize { cfg.train.batchSize = batchSize }
            if let lr { cfg.train.maxLROverride = lr }
            if let seed { cfg.train.seed = seed }
            if let checkpointEvery { cfg.train.checkpointEvery = checkpointEvery }
            try cfg.train.validate()
            if let data {
                cfg.dataset = nil
                cfg.dataRoot = URL(fileURLWithPath: data).standardizedFileURL.path
            }
            guard cfg.dataset != nil || cfg.dataRoot != nil else {
                throw ValidationError("give the new recordings with --data DIR (or a config's dataset list)")
            }
            let outDir = URL(fileURLWithPath: out ?? "runs/finetune-" + RunName.timestamp())
            if FileManager.default.fileExists(atPath: outDir.appendingPathComponent("train_state.safetensors").path) {
                throw POYOError.checkpoint(
                    path: outDir.path,
                    reason: "already holds a run: continue it with `poyo train --resume \(outDir.path)` "
                        + "or choose another --out")
            }
            let (dataset, description) = try cfg.loadData()
            let session = try TrainingSession(
                config: cfg, data: dataset, dataDescription: description, device: device, folder: outDir, note: note)
            try TrainingCLI.drive(session)
        }
    }
}
