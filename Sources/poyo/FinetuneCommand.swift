import ArgumentParser
import Compute
import Foundation
import POYO
import POYOData

struct Finetune: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Adapt a pretrained POYO model to new sessions (new neurons, maybe a new animal).",
        discussion: """
            Extends the checkpoint's vocabularies with the new sessions' unit and session ids (the pretrained \
            rows are kept, so the model still decodes the pretraining sessions) and trains on the sessions the \
            checkpoint does not know. --mode unit-id trains only the new embedding rows; --mode full does \
            that for --unit-id-steps, then trains every tensor. The output is a run folder like poyo train's: \
            poyo eval reads its checkpoint, and poyo train --resume DIR continues it. Defaults: 200 steps of 16 \
            windows, peak LR 0.1 (unit-id) or 0.01 (full).
            """)

    @Option(help: "Pretrained checkpoint.safetensors, or a run folder of poyo train / poyo finetune.")
    var checkpoint: String
    @Option(help: "Folder of the new recordings (.h5 brainsets, .nwb); sessions the checkpoint knows are skipped.")
    var data: String?
    @Option(help: "YAML run config (training keys; model keys must match the checkpoint's, or be absent).")
    var config: String?
    @Option(help: "unit-id (only the new embedding rows learn) or full.") var mode: FinetuneMode = .unitID
    @Option(name: .customLong("unit-id-steps"), help: "full: steps of unit identification first (default: a tenth).")
    var unitIDSteps: Int?
    @Option(help: "Run folder (default: runs/finetune-<date-time>).") var out: String?
    @OptionGroup var runOptions: RunOptions
    @OptionGroup var fewShot: FewShotOptions
    @Flag(help: "Also fit the Wiener filter on the same training data and print its R² beside the model's.")
    var baseline = false
    @OptionGroup var deviceOptions: DeviceOptions

    func validate() throws {
        if let unitIDSteps, unitIDSteps < 0 { throw ValidationError("--unit-id-steps must be >= 0") }
        if unitIDSteps != nil && mode != .full { throw ValidationError("--unit-id-steps applies to --mode full") }
    }

    func run() throws {
        try runReportingErrors {
            let device = try deviceOptions.make()
            let pretrained = try Checkpoint.config(of: checkpoint)
            let defaults = TrainOptions.finetuneDefaults(mode)
            var cfg =
                try config.map { try ConfigFile.load($0, trainDefaults: defaults) }
                ?? ConfigFile(model: pretrained, train: defaults)
            if !cfg.modelGiven { cfg.model = pretrained }
            cfg.finetune = FinetuneSpec(
                checkpoint: URL(fileURLWithPath: Checkpoint.resolve(checkpoint)).standardizedFileURL.path,
                mode: mode, unitIDSteps: unitIDSteps)
            if let f = fewShot.fewShot { cfg.train.fewShot = f }
            try runOptions.apply(to: &cfg)
            if let data { cfg.useDataFolder(data) }
            guard cfg.dataset != nil || cfg.dataRoot != nil else {
                throw ValidationError("give the new recordings with --data DIR (or a config's dataset list)")
            }
            let outDir = URL(fileURLWithPath: out ?? "runs/finetune-" + RunName.timestamp())
            try requireNoRun(in: outDir)
            let (dataset, description) = try cfg.loadData()
            let session = try TrainingSession(
                config: cfg, data: dataset, dataDescription: description, device: device, folder: outDir, note: note)
            try TrainingCLI.drive(session, baseline: baseline)
        }
    }
}
