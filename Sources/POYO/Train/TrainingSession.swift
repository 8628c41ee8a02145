import Compute
import DataParallel
import Foundation
import POYOData

/// One logged training step.
public struct StepReport: Sendable {
    public var step: Int  // 1-based
    public var totalSteps: Int
    public var loss: Double
    public var lr: Double
    public var msPerStep: Double
    public var tokensPerSecond: Double
    public var epoch: Int
    /// Of `msPerStep`, the time before the step could compute: waiting for its prefetched batch
    /// (or tokenising it here) and drawing the next step's windows.
    public var dataWaitMs: Double = 0
}

/// What a run reports while it goes; the CLI prints it, tests record it. Every method has an empty
/// default, so an observer implements only what it needs.
public protocol TrainingObserver: AnyObject {
    func note(_ text: String)
    func stepped(_ report: StepReport)
    func validated(_ result: EvaluationResult, step: Int, isBest: Bool)
    func saved(step: Int, folder: URL)
}

extension TrainingObserver {
    public func note(_ text: String) {}
    public func stepped(_ report: StepReport) {}
    public func validated(_ result: EvaluationResult, step: Int, isBest: Bool) {}
    public func saved(step: Int, folder: URL) {}
}

/// How `run` ended.
public enum RunOutcome {
    /// Every step done; the last validation (nil when the run was already complete on resume).
    case finished(EvaluationResult?)
    /// Stopped on request after `step` steps, with checkpoint and state saved.
    case stopped(step: Int)
}

/// A whole training run as one object: the model, the optimizer and its moments, the schedule, the
/// sampler position (epoch, order, cursor), the unit-dropout generator, the seeds, the validation
/// cadence, the best validation so far, and the run folder. `step()` is one optimizer step; `run`
/// steps to the end, validating and saving on the way; `save()` / `restore(from:)` make a killed
/// run continue bit for bit.
public final class TrainingSession {
    public let config: ConfigFile
    public let device: Device
    public let folder: RunFolder
    public let model: POYOModel
    public let tokenizer: Tokenizer
    /// `eval_sessions`: the recordings the validations before the last step score (a seeded sample,
    /// the same at every validation and after a resume); nil: all of them.
    public let evalSample: Set<Int32>?
    public let stepper: TrainingStepper
    /// Where the data came from (a folder or the dataset list), for logs and the summary.
    public let dataDescription: String
    /// The settings each session of the model was read with (a fine-tuned model's pretrained
    /// sessions keep the pretrained checkpoint's); checkpoints carry them.
    public let dataSettings: [String: RecordingSettings]
    /// Session id → the few-shot subset it trains on (empty: every session trains on its whole
    /// training split). The Wiener baseline names it beside its figures.
    public let fewShotCounts: [String: FewShotCount]
    public var seeds: RunSeeds { stepper.seeds }
    public var options: TrainOptions { config.train }

    /// Steps done so far (the next step's 0-based index).
    public private(set) var completedSteps = 0
    public private(set) var best: (r2: Double, step: Int)?
    /// The step this process resumed from (nil for a fresh run).
    public private(set) var resumedFrom: Int?
    /// Seconds of training before this process (from the saved state), for the summary.
    private var earlierSeconds = 0.0

    private let sampler: RandomFixedWindowSampler
    /// Where the sampler stands after the last batch a step consumed (what `save()` records).
    private var position: SamplerPosition
    /// The next step's batch, tokenised on a background thread while this step computes.
    private var prefetched: PrefetchedBatch?
    /// Milliseconds in this process's steps, and the part of them spent on data (`dataWaitMs`).
    public private(set) var stepTime: (steps: Int, total: Double, data: Double) = (0, 0, 0)
    /// Tokenise the next batch while a step runs (off: every batch on the training thread).
    public var prefetchesBatches = true
    private var epoch: Int { position.epoch }
    /// Fine-tuning: whether the trainable set in force is the unfrozen one (nil: not set yet).
    private var trainableUnfrozen: Bool?

    /// A run of `config` on `data` (held-out recordings are set aside here), with fresh parameters,
    /// writing into `folder`. `note` hears what was decided (held-out sessions, sizes).
    /// `collective`: the job's processes when this is one of several (`MPICollective`); each runs
    /// `grad_accum / size` of every step's micro-batches and rank 0 alone writes `folder`.
    public init(
        config: ConfigFile, data all: Dataset, dataDescription: String, device: Device, folder: URL,
        collective: Collective? = nil, note: (String) -> Void = { _ in }
    ) throws {
        var config = config
        if let collective, collective.size > 1 {
            try Self.shareParts(&config.train, among: collective.size, note: note)
        }
        try config.model.validate()
        try config.train.validate()
        self.device = device
        self.dataDescription = dataDescription
        if let opened = all.openingReport { note("data: " + opened) }
        for w in all.warnings { note(w.description) }
        for line in all.settingsReport() { note(line.hasPrefix("warning:") ? line : "data: " + line) }
        let seeds = RunSeeds(root: config.train.seed)
        var settings = all.settings
        var recordings: [Recording]
        if var finetune = config.finetune {
            // A pretrained starting point: the checkpoint's model with extended vocabularies, trained on
            // the sessions it does not know (held-out recordings included: they are what it is for).
            guard config.train.optimizer == .lamb else {
                throw POYOError.invalidConfig("training: fine-tuning uses LAMB (its sparse tables train new rows)")
            }
            (model, recordings) = try FinetuneStart.prepare(
                &finetune, model: config.model, batchSize: config.train.batchSize, data: all, device: device,
                seeds: seeds, note: note)
            config.finetune = finetune
            let pretrained = try Checkpoint.dataSettings(of: finetune.checkpoint) ?? [:]
            for w in FinetuneStart.normalisationWarnings(new: recordings, settings: settings, pretrained: pretrained) {
                note(w)
            }
            settings.merge(pretrained) { new, _ in new }
        } else {
            let held = all.heldOutIndices.map { all.recordings[$0].sessionID }
            let data = held.count < all.recordings.count ? try all.subset(heldOut: false) : all
            if !held.isEmpty { note("data: \(held.joined(separator: ", ")) held out (new animal), not trained on") }
            try MemoryBudget.check(
                config.model, unitVocabSize: data.unitVocabulary.count, sessionVocabSize: data.sessionVocabulary.count,
                training: true, batchSize: config.train.batchSize,
                tokensPerWindow: MemoryBudget.tokensPerWindow(data.recordings, seconds: config.model.sequenceLength),
                source: "training")
            model = try POYOModel(
                config: config.model, unitVocab: data.unitVocabulary, sessionVocab: data.sessionVocabulary,
                device: device)
            try model.params.initialize(seed: seeds.modelInit)
            recordings = data.recordings
        }
        var counts: [String: FewShotCount] = [:]
        if let fewShot = config.train.fewShot {
            let subsets = try recordings.fewShotSubsets(fewShot, seed: seeds.fewShot, note: note)
            recordings = subsets.map(\.recording)
            for s in subsets { counts[s.recording.sessionID] = s.count }
        }
        // Recorded in config.yaml and every checkpoint, so a resume and `poyo eval` use the same rule.
        config.shortIntervals = config.shortIntervalRule
        fewShotCounts = counts
        try Self.resolveEpochs(&config, recordings: recordings, note: note)
        self.config = config
        let sessionVocab = model.sessionVocab
        dataSettings = settings.filter { sessionVocab.row(of: $0.key) != nil }
        let units = Set(recordings.flatMap(\.unitIDs)).count
        note("data: \(recordings.count) sessions, \(units) units from \(dataDescription)")

        tokenizer = try Tokenizer(
            recordings: recordings, unitVocabulary: model.unitVocab,
            sessionVocabulary: model.sessionVocab,
            config: TokenizerConfig(model: model.config))
        sampler = Self.trainingSampler(config, recordings: recordings)
        if let n = config.train.evalSessions, n < recordings.count {
            var rng = SeededRNG(seed: seeds.root ^ 0xE7A1_5E55_1045)
            evalSample = Set(rng.permutation(recordings.count).prefix(n).map { Int32($0) })
            note("validation: \(n) of \(recordings.count) sessions (eval_sessions) until the last step, then all")
        } else {
            evalSample = nil
        }
        // Say what the windows will use of each split (issue 14): nothing is skipped silently.
        let window = model.config.sequenceLength
        let sessions = recordings.map(\.sessionID)
        for line in SplitCoverage.report(split: "train", coverage: sampler.coverage, sessions: sessions, window: window)
        {
            note(line.hasPrefix("warning:") ? line : "data: " + line)
        }
        let rule = config.shortIntervalRule
        for line in try Evaluator.coverageReport(recordings, split: .valid, window: window, shortIntervals: rule) {
            note(line.hasPrefix("warning:") ? line : "data: " + line)
        }
        guard sampler.estimatedCount >= 1 else { throw Self.noWindowsError(sampler, sessions: sessions) }
        let optimizer: Optimizer
        switch config.train.optimizer {
        case .lamb: optimizer = try LAMB(params: model.params, weightDecay: Float(config.train.weightDecay))
        case .adamw: optimizer = try AdamW(params: model.params, weightDecay: Float(config.train.weightDecay))
        }
        let schedule = OneCycleSchedule(
            maxLR: config.train.maxLR, totalSteps: config.train.steps,
            pctStart: config.train.lrDecayStart)
        stepper = TrainingStepper(
            model: model, optimizer: optimizer, schedule: schedule, seeds: seeds, collective: collective)
        position = SamplerPosition(unitDropoutRNG: seeds.unitDropout)
        self.folder = try RunFolder(folder, writes: (collective?.rank ?? 0) == 0)
    }

    /// `grad_accum` under `n` processes: 1 (the default) becomes n, one micro-batch each, so the job
    /// computes what one process does with `--grad-accum n`; otherwise it must be a multiple of n.
    static func shareParts(_ train: inout TrainOptions, among n: Int, note: (String) -> Void) throws {
        if train.gradAccum == 1 { train.gradAccum = n }
        guard train.gradAccum % n == 0 else {
            throw POYOError.invalidConfig(
                "training: grad_accum \(train.gradAccum) cannot be shared by \(n) processes "
                    + "(give a multiple of \(n), or run with a number of processes that divides it)")
        }
        note(
            "distributed: \(n) processes, \(train.gradAccum / n) of each step's \(train.gradAccum) micro-batches each "
                + "(global batch \(train.batchSize))")
    }

    /// The training sampler of `config` over `recordings`' training domains.
    static func trainingSampler(_ config: ConfigFile, recordings: [Recording]) -> RandomFixedWindowSampler {
        RandomFixedWindowSampler(
            intervals: recordings.map(\.trainDomain), domains: recordings.map(\.domain),
            windowLength: config.model.sequenceLength, shortIntervals: config.shortIntervalRule)
    }

    /// Why `sampler` has no window: no training interval a window long, and under `short_intervals:
    /// skip` (where torch_brain raises "All intervals are too short") that every one was skipped.
    static func noWindowsError(_ sampler: RandomFixedWindowSampler, sessions: [String]) -> POYOError {
        let ids = sessions.joined(separator: ", ")
        let w = String(format: "%g", sampler.windowLength)
        let c = sampler.coverage.reduce(SplitCoverage(), +)
        guard c.shortSkipped > 0 else { return .batch("no training interval of at least \(w) s in \(ids)") }
        return .invalidConfig(
            "short_intervals: skip leaves nothing to train on: every training interval in \(ids) is shorter than "
                + "the \(w) s window (\(c.shortSkipped) interval(s), "
                + String(format: "%.1f s", c.shortSkippedSeconds) + "); short_intervals: around trains on them")
    }

    /// `epochs` / `eval_epochs` into steps, as torch_brain counts them: `len(loader)`, the whole
    /// batches in an epoch of the sampler's `len` windows (under `short_intervals: skip` exactly
    /// torch_brain's count; under `around` the windows around short intervals count too). Only the
    /// count is torch_brain's: `nextWindows` completes a batch with the next epoch's windows.
    static func resolveEpochs(_ config: inout ConfigFile, recordings: [Recording], note: (String) -> Void) throws {
        guard config.train.epochs != nil || config.train.evalEpochs != nil else { return }
        let sampler = trainingSampler(config, recordings: recordings)
        let windows = sampler.estimatedCount
        guard windows >= 1 else { throw noWindowsError(sampler, sessions: recordings.map(\.sessionID)) }
        let batches = windows / config.train.batchSize
        guard batches >= 1 else {
            throw POYOError.invalidConfig(
                "training: an epoch of \(windows) windows holds no whole batch of \(config.train.batchSize)")
        }
        if let e = config.train.epochs {
            config.train.steps = e * batches
            config.train.epochs = nil
            let b = config.train.batchSize
            note("epochs: \(e) × \(batches) batches of \(b) (\(windows) windows) = \(config.train.steps) steps")
        }
        if let e = config.train.evalEpochs {
            config.train.evalEvery = e * batches
            config.train.evalEpochs = nil
        }
    }

    // MARK: Stepping

    /// The next `batchSize` windows after `position`, which moves past them; a new shuffled epoch
    /// starts when one runs out, and its first windows complete the batch (the remainder carries
    /// over: no window is dropped, unlike torch_brain's `drop_last`).
    func nextWindows(after position: inout SamplerPosition) -> [WindowRequest] {
        var windows: [SampledWindow] = []
        while windows.count < options.batchSize {
            if position.cursor >= position.epochWindows.count {
                position.epochWindows = sampler.windows(seed: seeds.sampler, epoch: position.epoch)
                position.epoch += 1
                position.cursor = 0
                if position.epochWindows.isEmpty { break }
            }
            windows.append(position.epochWindows[position.cursor])
            position.cursor += 1
        }
        // Unit dropout draws in window order, one draw per window, as before.
        return tokenizer.requests(for: windows, dropout: options.unitDropout, rng: &position.unitDropoutRNG)
    }

    /// The micro-batches this process runs of a global batch's `requests`: part k of M holds
    /// requests `k·B/M ..< (k+1)·B/M` (contiguous, sizes within one of each other), and this
    /// process runs parts `localParts` (all of them without a job).
    func localPartRequests(_ requests: [WindowRequest]) -> [[WindowRequest]] {
        let total = options.gradAccum
        let n = requests.count
        return localParts.map { k in Array(requests[(k * n / total)..<((k + 1) * n / total)]) }
    }

    /// The parts of each step this process runs: all of `grad_accum`, or its share of them in a job.
    var localParts: Range<Int> {
        let ranks = stepper.collective?.size ?? 1
        let rank = stepper.collective?.rank ?? 0
        let each = options.gradAccum / ranks
        return (rank * each)..<((rank + 1) * each)
    }

    /// This step's micro-batches: the prefetched ones when there are (the sampler then moves to where
    /// they were drawn from), else tokenised here; then the next step's are started in the
    /// background from a copy of the position, so batches and their order are what they would
    /// be without prefetching.
    private func nextParts() throws -> StepParts {
        let batches: [Batch]
        if let p = prefetched {
            prefetched = nil
            position = p.position
            batches = try p.batches()
        } else {
            batches = try localPartRequests(nextWindows(after: &position)).map { try tokenizer.batch($0) }
        }
        if prefetchesBatches && completedSteps + 1 < options.steps {
            var ahead = position
            let parts = localPartRequests(nextWindows(after: &ahead))
            prefetched = PrefetchedBatch(parts: parts, tokenizer: tokenizer, position: ahead)
        }
        return StepParts(batches: batches, first: localParts.lowerBound, total: options.gradAccum)
    }

    /// One optimizer step on the next batch.
    public func step() throws -> StepReport {
        let t0 = DispatchTime.now().uptimeNanoseconds
        let parts = try nextParts()
        let dataMs = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6
        if let finetune = config.finetune {
            // The trainable set changes once (full mode's unfreezing): rebuilt only then.
            let unfrozen = completedSteps >= finetune.unfreezeStep(totalSteps: options.steps)
            if unfrozen != trainableUnfrozen {
                stepper.optimizer.trainable = finetune.trainable(
                    at: completedSteps, totalSteps: options.steps, params: model.params)
                trainableUnfrozen = unfrozen
            }
        }
        let (loss, lr) = try stepper.step(parts, index: completedSteps)
        completedSteps += 1
        let ms = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6
        stepTime.steps += 1
        stepTime.total += ms
        stepTime.data += dataMs
        return StepReport(
            step: completedSteps, totalSteps: options.steps, loss: loss, lr: lr, msPerStep: ms,
            tokensPerSecond: Double(parts.inputCount) / (ms / 1000), epoch: max(epoch, 1), dataWaitMs: dataMs)
    }

    /// `sampled`: only the `eval_sessions` sample (when there is one).
    public func validate(split: Split = .valid, sampled: Bool = false) throws -> EvaluationResult {
        try Evaluator.evaluate(
            model: model, tokenizer: tokenizer, split: split, batchSize: options.evalBatchSize,
            shortIntervals: config.shortIntervalRule, collective: stepper.collective, only: sampled ? evalSample : nil)
    }

    /// The figure the best model is chosen on: the mean R² over the `eval_sessions` sample when
    /// there is one (also at the last validation, which scores every session), else the mean.
    public func selectionR2(_ v: EvaluationResult) -> Double {
        guard let evalSample else { return v.mean }
        let names = Set(evalSample.map { tokenizer.recordings[Int($0)].sessionID })
        let values = v.r2.filter { names.contains($0.key) }.map(\.value)
        return values.isEmpty ? v.mean : values.reduce(0, +) / Double(values.count)
    }

    /// Steps to the end: validation every `eval_every` steps and at the end (the best model to
    /// `best.safetensors`), checkpoint and state every `checkpointInterval` steps and at the end,
    /// one `metrics.csv` row per step. `shouldStop` is asked after every step: when it says yes, the
    /// run saves and returns `.stopped`.
    public func run(observer: TrainingObserver?, shouldStop: () -> Bool = { false }) throws -> RunOutcome {
        try folder.writeConfig(config)
        try folder.openMetrics(keepThrough: resumedFrom)
        observer?.note(
            "run folder: \(folder.url.path) (checkpoint and train state every \(options.checkpointInterval) steps)")
        let t0 = Date()
        let total = options.steps
        var last: EvaluationResult?
        if resumedFrom == nil { try save(seconds: 0) }  // a fresh run resumes even before its first save
        while completedSteps < total {
            let r = try step()
            observer?.stepped(r)
            let n = completedSteps
            var val: Double?
            if n == total || (options.evalEvery > 0 && n % options.evalEvery == 0) {
                let v = try validate(sampled: n != total)
                last = v
                val = v.mean
                let chosen = selectionR2(v)
                let isBest = best.map { chosen > $0.r2 } ?? true
                if isBest {
                    best = (chosen, n)
                    if folder.writes {
                        try Checkpoint.save(model, to: folder.bestPath, extra: checkpointMetadata(valR2: v.mean))
                    }
                }
                observer?.validated(v, step: n, isBest: isBest)
            }
            folder.log(r, valR2: val)
            let stop = n < total && shouldStop()
            if n == total || n % options.checkpointInterval == 0 || stop {
                try save(seconds: Date().timeIntervalSince(t0))
                observer?.saved(step: n, folder: folder.url)
            }
            if stop {
                reportDataWait(observer)
                return .stopped(step: n)
            }
        }
        reportDataWait(observer)
        guard let v = last else { return .finished(nil) }
        try folder.writeSummary(summary(v, seconds: earlierSeconds + Date().timeIntervalSince(t0)))
        return .finished(v)
    }

    /// "data wait: 1.2 % of step time …" over this process's steps.
    private func reportDataWait(_ observer: TrainingObserver?) {
        guard stepTime.steps > 0, stepTime.total > 0 else { return }
        observer?.note(
            String(
                format: "data wait: %.1f %% of step time (%.1f ms of %.1f ms per step, %ld steps)",
                100 * stepTime.data / stepTime.total, stepTime.data / Double(stepTime.steps),
                stepTime.total / Double(stepTime.steps), stepTime.steps))
    }

    func summary(_ v: EvaluationResult, seconds: Double) -> [String: Any] {
        var s: [String: Any] = [
            "val_r2_mean": v.mean, "val_r2": v.r2, "val_scored_samples": v.scoredSamples,
            "steps": options.steps, "seconds": seconds,
            "device": device.name, "seed": options.seed, "parameters": model.params.count,
            "data": dataDescription, "checkpoint": folder.checkpointPath,
            "data_wait_share": stepTime.total > 0 ? stepTime.data / stepTime.total : 0,
        ]
        if let best {
            s["best_val_r2"] = best.r2
            s["best_step"] = best.step
            s["best_checkpoint"] = folder.bestPath
        }
        if let resumedFrom { s["resumed_from_step"] = resumedFrom }
        return s
    }

    func checkpointMetadata(valR2: Double?) -> [String: String] {
        var m = ["step": "\(completedSteps)", Checkpoint.runConfigKey: config.yaml()]
        if !dataSettings.isEmpty { m[Checkpoint.dataSettingsKey] = Checkpoint.encodeDataSettings(dataSettings) }
        if let valR2 { m["val_r2_mean"] = "\(valR2)" }
        return m
    }

    // MARK: Saving and restoring

    /// Writes `checkpoint.safetensors` and then `train_state.safetensors` (each durably replaced).
    /// The state holds the weights too, so a kill between the two writes still resumes exactly.
    public func save(seconds: Double = 0) throws {
        guard folder.writes else { return }
        // One read of the weights from the device serves both files.
        let host = try model.params.hostValues()
        try Checkpoint.save(model, to: folder.checkpointPath, extra: checkpointMetadata(valR2: best?.r2), host: host)
        let state = TrainState(
            completedSteps: completedSteps, totalSteps: options.steps, optimizerSteps: stepper.optimizer.stepCount,
            epoch: position.epoch, cursor: position.cursor, unitDropoutRNG: position.unitDropoutRNG.state,
            bestR2: best?.r2, bestStep: best?.step,
            seconds: earlierSeconds + seconds, device: device.name, configYAML: config.yaml(),
            unitVocab: model.unitVocab.words, sessionVocab: model.sessionVocab.words)
        try state.write(to: folder.statePath, model: model, optimizer: stepper.optimizer, host: host)
    }

    /// Continues from the state saved in `stateFile` (written by `save()` of a run of the same config
    /// on the same data): weights, moments, step, sampler position, unit-dropout generator, best.
    public func restore(from stateFile: String) throws {
        let (state, file) = try TrainState.read(stateFile)
        try restore(state, file: file)
    }

    /// `restore(from:)` with the state file already read and checked.
    func restore(_ state: TrainState, file: SafeTensorsFile) throws {
        let stateFile = file.path
        guard state.unitVocab == model.unitVocab.words, state.sessionVocab == model.sessionVocab.words else {
            throw POYOError.checkpoint(
                path: stateFile,
                reason: "the run's recordings changed since it was saved "
                    + "(unit or session vocabulary differs): cannot resume on this data")
        }
        guard let rng = SeededRNG(state: state.unitDropoutRNG) else {
            throw POYOError.checkpoint(path: stateFile, reason: "invalid unit-dropout generator state")
        }
        guard state.completedSteps <= options.steps else {
            throw POYOError.checkpoint(
                path: stateFile,
                reason: "saved at step \(state.completedSteps), "
                    + "beyond the run's \(options.steps) steps")
        }
        try model.params.load(from: file, prefix: TrainState.weightPrefix)
        try stepper.optimizer.restore(from: file, stepCount: state.optimizerSteps)
        completedSteps = state.completedSteps
        let windows = state.epoch > 0 ? sampler.windows(seed: seeds.sampler, epoch: state.epoch - 1) : []
        guard state.cursor <= windows.count else {
            throw POYOError.checkpoint(
                path: stateFile, reason: "sampler cursor \(state.cursor) beyond its epoch's \(windows.count) windows")
        }
        position = SamplerPosition(
            epochWindows: windows, cursor: state.cursor, epoch: state.epoch, unitDropoutRNG: rng)
        prefetched = nil
        if let r2 = state.bestR2, let s = state.bestStep { best = (r2, s) }
        earlierSeconds = state.seconds
        resumedFrom = state.completedSteps
    }
}

extension TrainingSession {
    /// The run in `folder` continued from its `train_state.safetensors`, with the config saved there.
    /// `steps` may raise the run's length (the schedule becomes the new length's; `note` says so) and
    /// `checkpointEvery` change the save cadence; nothing else can change, since it would alter results.
    /// `data` gives the recordings when the run was built in-process (no `data_root` or `dataset` in
    /// its config); they must be the same recordings (the vocabularies are checked).
    public static func resume(
        folder url: URL, device: Device, steps: Int? = nil, checkpointEvery: Int? = nil,
        data given: (dataset: Dataset, description: String)? = nil, collective: Collective? = nil,
        note: (String) -> Void = { _ in }
    ) throws -> TrainingSession {
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw POYOError.checkpoint(
                path: url.path, reason: "no such folder, so no train_state.safetensors to resume")
        }
        let run = try RunFolder(url, writes: (collective?.rank ?? 0) == 0)
        guard run.hasState else {
            throw POYOError.checkpoint(
                path: run.statePath,
                reason: "no such file: not a run folder of poyo train, or it "
                    + "was stopped before its first save")
        }
        let (state, stateFile) = try TrainState.read(run.statePath)
        var config = try ConfigFile.parse(yaml: state.configYAML, path: run.statePath + " (config_yaml)")
        try checkStateBelongs(config, to: run)
        if let steps, steps != config.train.steps {
            guard steps > config.train.steps else {
                throw POYOError.invalidConfig(
                    "--steps \(steps) on resume: a run can only be lengthened "
                        + "(it has \(config.train.steps) steps)")
            }
            note(
                "resume: \(config.train.steps) → \(steps) steps; the learning-rate schedule is now that of "
                    + "\(steps) steps, so steps after \(state.completedSteps) differ from the original plan")
            config.train.steps = steps
        }
        if let checkpointEvery { config.train.checkpointEvery = checkpointEvery }  // changes no result
        // The latest checkpoint must be intact too: a corrupt one is reported, not silently replaced.
        if FileManager.default.fileExists(atPath: run.checkpointPath) {
            _ = try SafeTensorsFile(path: run.checkpointPath)
        }
        if state.device != device.name {
            note(
                "resume: the run was on \(state.device), now \(device.name): losses will differ from an "
                    + "uninterrupted run in the last bits")
        }
        let saved = config.train.gradAccum
        let processes = collective?.size ?? 1
        if saved > 1 && saved % processes == 0 && processes != saved && processes != 1 {
            note(
                "resume: \(processes) processes share the run's \(saved) micro-batches: the same batches, but the "
                    + "gradients are added in another grouping, so results differ in the last bits from a run "
                    + "with 1 or \(saved) processes")
        }
        let (data, description) = try given ?? config.loadData()
        let session = try TrainingSession(
            config: config, data: data, dataDescription: description, device: device,
            folder: url, collective: collective, note: note)
        try session.restore(state, file: stateFile)
        note("resume: continuing \(url.path) at step \(session.completedSteps) of \(config.train.steps)")
        return session
    }
}

extension TrainingSession {
    /// The Wiener floor beside this run: fitted on the run's training data (the same few-shot subset),
    /// its history and λ chosen by cross-validation inside it, scored on validation as the model is.
    public func wienerBaseline(note: (String) -> Void) throws -> WienerBaseline.Result {
        var o = WienerBaseline.Options()
        o.split = .valid
        o.shortIntervals = config.shortIntervalRule
        o.windows = tokenizer.config
        let sessions = tokenizer.recordings.map { r in
            WienerBaseline.Session(recording: r, fit: fewShotCounts[r.sessionID]?.description ?? "train")
        }
        return try WienerBaseline.run(sessions, options: o, note: note)
    }
}

extension TrainingSession {
    /// A train state copied in from another run must not quietly turn this run into that one (and cut
    /// its metrics): the state's model and seed must be those of the folder's `config.yaml`.
    static func checkStateBelongs(_ state: ConfigFile, to run: RunFolder) throws {
        guard let yaml = try? String(contentsOfFile: run.configPath, encoding: .utf8) else { return }
        let saved = try ConfigFile.parse(yaml: yaml, path: run.configPath)
        var differences: [String] = []
        if saved.model != state.model {
            differences.append("model \(state.model.jsonString()) vs \(saved.model.jsonString())")
        }
        if saved.train.seed != state.train.seed {
            differences.append("seed \(state.train.seed) vs \(saved.train.seed)")
        }
        guard differences.isEmpty else {
            throw POYOError.checkpoint(
                path: run.statePath,
                reason: "belongs to another run: its " + differences.joined(separator: ", ")
                    + " in config.yaml; resuming would turn this run into that one")
        }
    }
}
