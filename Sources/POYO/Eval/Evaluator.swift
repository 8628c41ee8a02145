import Compute
import DataParallel
import Foundation
import POYOData

/// Which split an evaluation scores.
public enum Split: String, Sendable, CaseIterable {
    case train, valid, test

    func domain(_ r: Recording) -> Intervals {
        switch self {
        case .train: return r.trainDomain
        case .valid: return r.validDomain
        case .test: return r.testDomain
        }
    }
}

/// Per-session R² over 1 s windows with 0.5 s stride, stitched by behaviour sample (docs/spec.md §5).
public struct EvaluationResult: Sendable {
    /// Session id → R² (mean over output dims).
    public var r2: [String: Double]
    /// Mean of the per-session R².
    public var mean: Double
    public var windows: Int
    public var seconds: Double
    /// Session id → every stitched sample of the split (for `--predictions` and `--plot`; kept only
    /// when asked, so validation during training builds no per-sample copies).
    public var samples: [String: [StitchedSample]] = [:]
    /// Session id → number of scored samples.
    public var scoredSamples: [String: Int] = [:]
    /// Session id → how much of the split the windows covered.
    public var coverage: [String: SplitCoverage] = [:]
}

public enum Evaluator {
    /// Runs the model without dropout over every window of `split` in `tokenizer.recordings`.
    public static func evaluate(
        model: POYOModel, tokenizer: Tokenizer, split: Split, batchSize: Int, keepSamples: Bool = false,
        shortIntervals: ShortIntervals = .around, collective: Collective? = nil, only: Set<Int32>? = nil
    ) throws -> EvaluationResult {
        try evaluate(
            tokenizer: tokenizer, split: split, batchSize: batchSize, keepSamples: keepSamples,
            shortIntervals: shortIntervals, collective: collective, only: only
        ) { batch in
            let act = try model.forward(try model.prepare(batch))
            return try model.device.download(act.prediction)
        }
    }

    /// The evaluation windows of `split` (1 s, 0.5 s stride), refusing intervals shorter than the
    /// window under `short_intervals: skip` as torch_brain's `SequentialFixedWindowSampler` does.
    static func sampler(_ recordings: [Recording], split: Split, window: Double, shortIntervals: ShortIntervals)
        throws -> SequentialFixedWindowSampler
    {
        let sampler = SequentialFixedWindowSampler(
            intervals: recordings.map { split.domain($0) }, domains: recordings.map(\.domain), windowLength: window,
            step: window / 2, shortIntervals: shortIntervals)
        if let error = sampler.tooShortError(split: split.rawValue, sessions: recordings.map(\.sessionID)) {
            throw error
        }
        return sampler
    }

    /// What the windows of `split` cover in each recording, and the lines that say so; throws
    /// where evaluation would (short intervals under `short_intervals: skip`), so a run stops
    /// before it trains rather than at its first validation.
    public static func coverageReport(
        _ recordings: [Recording], split: Split, window: Double, shortIntervals: ShortIntervals = .around
    ) throws -> [String] {
        let sampler = try sampler(recordings, split: split, window: window, shortIntervals: shortIntervals)
        return SplitCoverage.report(
            split: split.rawValue, coverage: sampler.coverage, sessions: recordings.map(\.sessionID), window: window)
    }

    /// The same windows, stitching and R² for any decoder: `predict` maps a batch to its predictions
    /// `[outputCount, dimOut]` (the Wiener-filter baseline is scored through here, so its figures
    /// compare with POYO's sample for sample).
    ///
    /// With a `collective` of N processes, batch b runs on process b mod N; one `allGather` at the end
    /// brings every batch's results to every process, which stitches them in batch order: the same
    /// batches, the same additions, so the same R² as one process. Processes may run one batch more
    /// or fewer than others; the single collective call at the end cannot leave any waiting.
    public static func evaluate(
        tokenizer: Tokenizer, split: Split, batchSize: Int, keepSamples: Bool = false,
        shortIntervals: ShortIntervals = .around, collective: Collective? = nil, only: Set<Int32>? = nil,
        predict: (Batch) throws -> [Float]
    ) throws -> EvaluationResult {
        let t0 = Date()
        let recs = tokenizer.recordings
        let sampler = try sampler(
            recs, split: split, window: tokenizer.config.sequenceLength, shortIntervals: shortIntervals)
        // `only`: the recordings scored (a sample of the sessions); nil: all of them.
        let windows =
            only.map { keep in sampler.windows.filter { keep.contains(Int32($0.recording)) } } ?? sampler.windows
        let scoredRecordings = recs.indices.filter { only?.contains(Int32($0)) ?? true }
        guard !windows.isEmpty else {
            throw POYOError.batch(
                "no \(split.rawValue) windows of \(tokenizer.config.sequenceLength) s in "
                    + "\(recs.map(\.sessionID).joined(separator: ", "))"
            )
        }
        var stitcher = Stitcher(dim: tokenizer.dimOut)
        let processes = collective?.size ?? 1
        let rank = collective?.rank ?? 0
        var shard = ShardedResults()
        var at = 0
        var index = 0
        while at < windows.count {
            let chunk = windows[at..<min(at + batchSize, windows.count)]
            at += chunk.count
            index += 1
            guard (index - 1) % processes == rank else { continue }
            let batch = try tokenizer.batch(
                chunk.map { WindowRequest(recording: $0.recording, start: $0.start, region: $0.region) }, evalKeys: true
            )
            guard batch.outputCount > 0 else { continue }
            let predictions = try predict(batch)
            if processes == 1 {
                try stitcher.add(keys: batch.evalKeys, predictions: predictions, targets: batch.targets)
            } else {
                shard.entries.append(
                    .init(batch: index - 1, keys: batch.evalKeys, predictions: predictions, targets: batch.targets))
            }
        }
        if let collective, processes > 1 {
            let all = try collective.allGather(shard.bytes).flatMap { try ShardedResults(bytes: $0).entries }
            for e in all.sorted(by: { $0.batch < $1.batch }) {
                try stitcher.add(keys: e.keys, predictions: e.predictions, targets: e.targets)
            }
        }
        let report = stitcher.r2()
        // Only the scored recordings' windows were stitched, so only they have an R².
        let bySession = report.bySession(recs.map(\.sessionID))
        var samples: [String: [StitchedSample]] = [:]
        var scored: [String: Int] = [:]
        for i in scoredRecordings {
            let r = recs[i]
            scored[r.sessionID] = stitcher.scoredCount(recording: Int32(i))
            if keepSamples { samples[r.sessionID] = stitcher.samples(recording: Int32(i)) }
        }
        return EvaluationResult(
            r2: bySession, mean: report.mean, windows: windows.count,
            seconds: Date().timeIntervalSince(t0), samples: samples, scoredSamples: scored,
            coverage: Dictionary(
                uniqueKeysWithValues: scoredRecordings.map { (recs[$0].sessionID, sampler.coverage[$0]) }))
    }
}
