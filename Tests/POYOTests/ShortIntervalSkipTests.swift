import Compute
import Foundation
import POYOData
import TestSupport
import Testing

@testable import POYO

/// `short_intervals: skip` against torch_brain 0.2.1's own samplers on the short-trial fixture
/// (`Tests/Fixtures/torch_brain_short_intervals.json`, written by
/// `Tools/interop/torch_brain_short_intervals.py`), and the default `around` left as it was.
@Suite struct ShortIntervalSkipTests {
    static let fixture = ShortIntervalTests.fixture
    static let window = 1.0

    /// What torch_brain's samplers did, as the generator script recorded it.
    struct TorchBrainFacts: Decodable {
        var torchBrain: String
        var windowLength: Double
        var step: Double
        var trainIntervals: [[Double]]
        var validIntervals: [[Double]]
        var training: Training
        var validation: [Valid]
        var validationWholeSetError: String?

        struct Training: Decodable {
            var len: Int
            var lenLoader: [String: Int]
            var windowsPerInterval: [Int]
        }

        struct Valid: Decodable {
            var interval: [Double]
            var starts: [Double]?
            var error: String?
        }
    }

    static func facts() throws -> TorchBrainFacts {
        let url = packageRoot().appendingPathComponent("Tests/Fixtures/torch_brain_short_intervals.json")
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode(TorchBrainFacts.self, from: Data(contentsOf: url))
    }

    static func pairs(_ set: Intervals) -> [[Double]] { set.map { [$0.start, $0.end] } }

    /// The fixture recording with its validation split cut to the trials at least a window long,
    /// so a run under `skip` can start (torch_brain would raise on the others too).
    static func recordingWithLongValidTrials() throws -> Recording {
        var r = try RecordingReader.read(fixture)
        r.validDomain = Intervals(r.validDomain.filter { $0.length >= window })
        return r
    }

    static func config(_ rule: ShortIntervals?) -> ConfigFile {
        var cfg = ConfigFile(model: Small.config, train: Small.options(steps: 2))
        cfg.shortIntervals = rule
        return cfg
    }

    @Test func theFactsAreTorchBrains021OnOurReadersSplit() throws {
        let f = try Self.facts()
        let r = try RecordingReader.read(Self.fixture)
        #expect(f.torchBrain == "0.2.1" && f.windowLength == Self.window && f.step == Self.window / 2)
        // The intervals torch_brain was given are exactly the reader's: the comparisons below are fair.
        #expect(Self.pairs(r.trainDomain) == f.trainIntervals)
        #expect(Self.pairs(r.validDomain) == f.validIntervals)
        // Both kinds on both splits, or the comparison shows little.
        #expect(f.training.windowsPerInterval.contains(0) && f.training.windowsPerInterval.contains { $0 > 0 })
        #expect(f.validation.contains { $0.error != nil } && f.validation.contains { $0.starts != nil })
    }

    /// torch_brain's `len(sampler)`, the intervals that yield windows and how many each yields per
    /// epoch, over many epochs and seeds of ours (their random streams differ; these facts do not).
    @Test func trainingSkipsWhatTorchBrainSkips() throws {
        let f = try Self.facts()
        let r = try RecordingReader.read(Self.fixture)
        let sampler = RandomFixedWindowSampler(
            intervals: [r.trainDomain], domains: [r.domain], windowLength: Self.window, shortIntervals: .skip)
        #expect(sampler.estimatedCount == f.training.len)
        for seed: UInt64 in [1, 42] {
            for epoch in 0..<25 {
                var counts = [Int](repeating: 0, count: r.trainDomain.count)
                for w in sampler.windows(seed: seed, epoch: epoch) {
                    #expect(w.region == nil, "a window around a short interval under skip")
                    let k = r.trainDomain.firstIndex { $0.start <= w.start && w.start + Self.window <= $0.end }
                    guard let k else {
                        Issue.record("window at \(w.start) s inside no training interval")
                        continue
                    }
                    counts[k] += 1
                }
                #expect(counts == f.training.windowsPerInterval, "seed \(seed) epoch \(epoch)")
            }
        }
        let c = sampler.coverage[0]
        let dropped = f.training.windowsPerInterval.filter { $0 == 0 }.count
        #expect(c.shortSkipped == dropped && c.short == 0 && c.skipped == 0 && c.usedIntervals == c.intervals - dropped)
    }

    /// `epochs:` → steps is torch_brain's `len(loader)` (whole batches of `len(sampler)` windows).
    @Test func epochsCountTorchBrainsWholeBatches() throws {
        let f = try Self.facts()
        let r = try RecordingReader.read(Self.fixture)
        #expect(!f.training.lenLoader.isEmpty)
        for (key, batches) in f.training.lenLoader {
            var cfg = Self.config(.skip)
            cfg.train.batchSize = try #require(Int(key))
            cfg.train.epochs = 3
            guard batches > 0 else {
                #expect(throws: POYOError.self) { try TrainingSession.resolveEpochs(&cfg, recordings: [r]) { _ in } }
                continue
            }
            try TrainingSession.resolveEpochs(&cfg, recordings: [r]) { _ in }
            #expect(cfg.train.steps == 3 * batches, "batch \(key)")
        }
        // The default counts the windows around short trials too: more steps per epoch.
        var around = Self.config(nil)
        around.train.batchSize = 1
        around.train.epochs = 1
        try TrainingSession.resolveEpochs(&around, recordings: [r]) { _ in }
        #expect(around.train.steps > f.training.len)
    }

    /// Evaluation windows: torch_brain's starts on every interval at least a window long, and a
    /// refusal exactly where torch_brain raises.
    @Test func evaluationWindowsAndRefusalsAreTorchBrains() throws {
        let f = try Self.facts()
        let r = try RecordingReader.read(Self.fixture)
        for v in f.validation {
            let iv = Interval(v.interval[0], v.interval[1])
            let s = SequentialFixedWindowSampler(
                intervals: [Intervals([iv])], domains: [r.domain], windowLength: Self.window, step: Self.window / 2,
                shortIntervals: .skip)
            if let starts = v.starts {
                #expect(s.windows.map(\.start) == starts && s.tooShort.isEmpty, "\(v.interval)")
                #expect(s.windows.allSatisfy { $0.region == nil })
            } else {
                #expect(v.error?.contains("too short") == true)
                #expect(s.windows.isEmpty && s.tooShort.map(\.interval) == [iv], "\(v.interval)")
            }
        }
        // The whole split: torch_brain raises, and so do we, naming every short interval.
        #expect(f.validationWholeSetError != nil)
        let short = f.validation.filter { $0.error != nil }.map { Interval($0.interval[0], $0.interval[1]) }
        let error = #expect(throws: ShortEvaluationIntervals.self) {
            try Evaluator.coverageReport([r], split: .valid, window: Self.window, shortIntervals: .skip)
        }
        #expect(error?.sessions.map(\.session) == [r.sessionID])
        #expect(error?.sessions.first?.intervals == short)
    }

    /// `poyo eval`'s path: scoring a split with a short interval under skip fails with a message
    /// naming the session and each interval; the same split scores under the default.
    @Test func evaluationRefusesShortIntervalsWithAClearMessage() throws {
        let r = try RecordingReader.read(Self.fixture)
        let tokenizer = try ShortIntervalTests.tokenizer(r)
        let zero = { (b: Batch) in [Float](repeating: 0, count: b.outputCount * b.dimOut) }
        let error = #expect(throws: ShortEvaluationIntervals.self) {
            try Evaluator.evaluate(
                tokenizer: tokenizer, split: .test, batchSize: 8, shortIntervals: .skip, predict: zero)
        }
        let text = error.map { "\($0)" } ?? ""
        let short = r.testDomain.filter { $0.length < Self.window }
        #expect(!short.isEmpty)
        #expect(
            text.hasPrefix("\(r.sessionID): \(short.count) test intervals shorter than the 1 s window: "), "\(text)")
        for iv in short.prefix(ShortEvaluationIntervals.listed) {
            #expect(text.contains(String(format: "[%.2f, %.2f) %.3f s", iv.start, iv.end, iv.length)), "\(text)")
        }
        #expect(text.hasSuffix("(short_intervals: skip, as torch_brain; short_intervals: around scores them)"))
        let scored = try Evaluator.evaluate(tokenizer: tokenizer, split: .test, batchSize: 8, predict: zero)
        #expect(scored.scoredSamples[r.sessionID] ?? 0 > 0)
    }

    @Test func oneShortIntervalIsNamedInOneSentence() {
        let e = ShortEvaluationIntervals(
            split: "valid", window: 1, sessions: [("synth_x", [Interval(12.3, 13.1)])])
        #expect(
            e.description
                == "synth_x: valid interval [12.30, 13.10) is 0.800 s, shorter than the 1 s window "
                + "(short_intervals: skip, as torch_brain; short_intervals: around scores them)")
        let many = ShortEvaluationIntervals(
            split: "test", window: 1, sessions: [("s", (0..<7).map { Interval(Double($0) * 2, Double($0) * 2 + 0.5) })])
        #expect(many.description.contains("s: 7 test intervals") && many.description.contains(", and 2 more "))
    }

    @Test func theConfigKeyParsesAndRoundTrips() throws {
        func parse(_ yaml: String) throws -> ConfigFile { try ConfigFile.parse(yaml: yaml, path: "c.yaml") }
        #expect(try parse("steps: 3\n").shortIntervals == nil)
        #expect(try parse("steps: 3\n").shortIntervalRule == .around)
        #expect(try parse("short_intervals: skip\n").shortIntervals == .skip)
        #expect(try parse("short_intervals: around\n").shortIntervals == .around)
        let bad = #expect(throws: POYOError.self) { try parse("short_intervals: drop\n") }
        #expect("\(bad.map { "\($0)" } ?? "")".contains("'short_intervals' must be around or skip"))
        #expect(throws: POYOError.self) { try parse("short_intervals: [skip]\n") }
        var cfg = ConfigFile()
        cfg.shortIntervals = .skip
        let text = cfg.yaml()
        #expect(text.contains("\nshort_intervals: skip\n"))
        #expect(try parse(text).shortIntervals == .skip && parse(text).yaml() == text)
    }

    /// Without the key nothing changes: windows around short trials in training and evaluation, and
    /// the run records the rule it used.
    @Test func theDefaultStaysAround() throws {
        let r = try RecordingReader.read(Self.fixture)
        let byDefault = RandomFixedWindowSampler(intervals: [r.trainDomain], domains: [r.domain])
        let around = RandomFixedWindowSampler(
            intervals: [r.trainDomain], domains: [r.domain], shortIntervals: .around)
        #expect(byDefault.windows(seed: 4, epoch: 1) == around.windows(seed: 4, epoch: 1))
        #expect(byDefault.windows(seed: 4, epoch: 1).contains { $0.region != nil })
        let eval = SequentialFixedWindowSampler(intervals: [r.validDomain], domains: [r.domain])
        #expect(eval.tooShort.isEmpty && eval.windows.contains { $0.region != nil })

        let loaded = try RecordingReader.load(Self.fixture)
        var notes: [String] = []
        let session = try TrainingSession(
            config: Self.config(nil), data: try Dataset(loaded: [loaded]), dataDescription: "fixture",
            device: CPUDevice(), folder: try makeTempDirectory()
        ) { notes.append($0) }
        #expect(session.config.shortIntervals == .around)
        #expect(session.config.yaml().contains("\nshort_intervals: around\n"))
        #expect(
            notes.contains {
                $0.hasPrefix("data: train: ") && $0.contains("in windows around them: short_intervals: around")
            },
            "\(notes)")
    }

    /// A run under skip says what it skipped, records the rule in its checkpoint and train state, and
    /// a resume keeps it.
    @Test func aSkipRunRecordsItsRuleForResumeAndEval() throws {
        let r = try Self.recordingWithLongValidTrials()
        let data = try Dataset(recordings: [r])
        var notes: [String] = []
        let folder = try makeTempDirectory()
        let session = try TrainingSession(
            config: Self.config(.skip), data: data, dataDescription: "fixture", device: CPUDevice(), folder: folder
        ) { notes.append($0) }
        let skipped = r.trainDomain.filter { $0.length < Self.window }
        let seconds = String(format: "%.1f", skipped.reduce(0) { $0 + $1.length })
        #expect(
            notes.contains {
                $0.hasPrefix("data: train: ")
                    && $0.contains("; \(skipped.count) shorter than the 1 s window skipped (\(seconds) s:")
                    && $0.contains("short_intervals: skip, as torch_brain)")
            }, "\(notes)")
        _ = try session.step()
        try session.save()
        #expect(try Checkpoint.shortIntervals(of: session.folder.checkpointPath) == .skip)
        let resumed = try TrainingSession.resume(folder: folder, device: CPUDevice(), data: (data, "fixture"))
        #expect(resumed.config.shortIntervals == .skip && resumed.completedSteps == 1)
        // A checkpoint from before the key existed carries none: `around` applies.
        #expect(try Checkpoint.shortIntervals(["train": "steps: 3\n"], path: "old") == nil)
        #expect(throws: POYOError.self) { try Checkpoint.shortIntervals(["train": "short_intervals: 2\n"], path: "x") }
    }

    @Test func aRunWithEveryTrainingIntervalSkippedIsRefused() throws {
        var r = try Self.recordingWithLongValidTrials()
        r.trainDomain = Intervals(r.trainDomain.filter { $0.length < Self.window })
        let error = #expect(throws: POYOError.self) {
            try TrainingSession(
                config: Self.config(.skip), data: try Dataset(recordings: [r]), dataDescription: "fixture",
                device: CPUDevice(), folder: try makeTempDirectory())
        }
        let text = error.map { "\($0)" } ?? ""
        #expect(
            text.contains(
                "short_intervals: skip leaves nothing to train on: every training interval in \(r.sessionID) "
                    + "is shorter than the 1 s window (\(r.trainDomain.count) interval(s), "),
            "\(text)")
        // With `epochs:` the same error, not an empty epoch's.
        var cfg = Self.config(.skip)
        cfg.train.epochs = 2
        let counted = #expect(throws: POYOError.self) {
            try TrainingSession.resolveEpochs(&cfg, recordings: [r]) { _ in }
        }
        #expect("\(counted.map { "\($0)" } ?? "")".contains("short_intervals: skip leaves nothing to train on"))
    }

    /// Training under skip refuses at the start, not at its first validation, when the validation
    /// split has an interval torch_brain's evaluation sampler would raise on.
    @Test func aSkipRunWithShortValidTrialsStopsBeforeTraining() throws {
        let loaded = try RecordingReader.load(Self.fixture)
        let error = #expect(throws: ShortEvaluationIntervals.self) {
            try TrainingSession(
                config: Self.config(.skip), data: try Dataset(loaded: [loaded]), dataDescription: "fixture",
                device: CPUDevice(), folder: try makeTempDirectory())
        }
        #expect(error?.split == "valid" && error?.sessions.first?.session == loaded.recording.sessionID)
    }
}
