import Foundation
import POYOData

/// `poyo baseline` and every `--baseline`: a Wiener filter per session, fitted on its training
/// domain (or a few-shot subset) with POYO's loss weights, its history, horizon and λ chosen inside
/// the training data (`WienerSelectionPlan`), scored through `Evaluator` on the same windows, eval
/// mask and split as `poyo eval`.
public enum WienerBaseline {
    /// Histories (s, the current bin included) chosen from when none is given. It stops at 0.7 s,
    /// the M1 filter of Glaser et al.'s Neural_Decoding: the cost grows with the cube of the longest
    /// (units × bins columns), and `--history` reaches further when asked.
    public static let historyGrid: [Double] = [0.1, 0.2, 0.3, 0.5, 0.7]
    /// Look-ahead horizons (s) the acausal filter chooses from when none is given.
    public static let horizonGrid: [Double] = [0, 0.1, 0.2, 0.3, 0.5]
    /// Relative ridge values (`StandardisedRidge`) chosen from when none is given.
    public static let ridgeGrid: [Double] = [1e-4, 1e-3, 1e-2, 1e-1, 1, 10]
    /// The widest bin (s). A bin is one step of the filter's history: wider than POYO's 1 s context
    /// window, the counts stop describing the recent spikes (at 1e9 s each bin counts every spike
    /// so far, and the fit scores R² ≈ 0 without saying why).
    public static let maxBin = 1.0

    public struct Options: Sendable {
        public var bin = 0.02
        /// Seconds of history; nil: chosen from `historyGrid`.
        public var history: Double?
        /// Seconds of look-ahead (acausal only); nil: chosen from `horizonGrid`.
        public var horizon: Double?
        public var causal = true
        /// Relative λ; nil: chosen from `ridgeGrid`.
        public var ridge: Double?
        public var weights: WienerWeights = .loss
        /// The split scored: `test` chooses on `valid`; `valid` chooses by k-fold over training trials.
        public var split: Split = .test
        public var folds = 5
        /// The evaluation windows: the model's, so both score the same samples.
        public var windows = TokenizerConfig()
        /// The evaluation windows' rule, as for the model it is compared with.
        public var shortIntervals: ShortIntervals = .around
        public init() {}

        /// E.g. `causal, bin 0.02 s, loss weights`.
        public var description: String {
            "\(causal ? "causal" : "acausal"), bin \(bin) s, \(weights == .loss ? "loss weights" : "unweighted")"
        }
    }

    /// One session to fit: the recording (its training domain possibly a few-shot subset) and how
    /// its training data is named in the output (`train`, `5 of 105 training trials`).
    public struct Session: Sendable {
        public var recording: Recording
        public var fit: String

        public init(recording: Recording, fit: String = "train") {
            self.recording = recording
            self.fit = fit
        }
    }

    /// What was fitted for one session and how it was chosen.
    public struct SessionReport: Sendable {
        public var choice: WienerChoice
        public var bin: Double
        public var fit: String
        /// Training samples with a weight above 0.
        public var fitSamples: Int
        public var selection: WienerSelectionPlan
        /// Pooled R² of the chosen values on the selection samples (nil: nothing was chosen).
        public var selectionR2: Double?
        public var selectionSamples: Int
        /// The time the selection scored on (held-out folds, or the valid split), stage by stage and
        /// round by round: never any of the split the filter is scored on.
        public var selectionDomains: [Intervals]

        public var historySeconds: Double { Double(choice.past) * bin }
        public var horizonSeconds: Double { Double(choice.future) * bin }
    }

    public struct Result: Sendable {
        public var r2: [String: Double]
        public var mean: Double
        public var sessions: [String: SessionReport]
        public var options: Options
        public var seconds: Double
    }

    /// Sessions on `recordings`' whole training splits, or on the few-shot subsets `fewShot` draws
    /// with `seed` (the run's root seed: the draw is `RunSeeds(root: seed).fewShot`'s, as training's).
    public static func sessions(
        _ recordings: [Recording], fewShot: FewShot?, seed: UInt64, note: (String) -> Void = { _ in }
    ) throws -> [Session] {
        guard let fewShot else { return recordings.map { Session(recording: $0) } }
        return try recordings.fewShotSubsets(fewShot, seed: RunSeeds(root: seed).fewShot, note: note).map {
            Session(recording: $0.recording, fit: $0.count.description)
        }
    }

    public static func run(_ sessions: [Session], options o: Options, note: (String) -> Void = { _ in }) throws
        -> Result
    {
        let t0 = Date()
        guard !sessions.isEmpty else { throw WienerError.noTrainingSamples("no recordings for the baseline") }
        guard o.split != .train else {
            throw WienerError.notSolvable("the filter is fitted on the training split: score valid or test")
        }
        let recs = sessions.map(\.recording)
        var filters: [WienerFilter] = []
        var reports: [String: SessionReport] = [:]
        for s in sessions {
            let t = Date()
            let (filter, report) = try fit(s, options: o)
            filters.append(filter)
            reports[s.recording.sessionID] = report
            note(
                String(
                    format: "baseline: %@ fitted in %.1f s (%@)", s.recording.sessionID, Date().timeIntervalSince(t),
                    describe(report, causal: o.causal)))
        }
        let data = try Dataset(recordings: recs)
        let tokenizer = try Tokenizer(
            recordings: recs, unitVocabulary: data.unitVocabulary, sessionVocabulary: data.sessionVocabulary,
            config: o.windows)
        let scored = try Evaluator.evaluate(
            tokenizer: tokenizer, split: o.split, batchSize: 64, shortIntervals: o.shortIntervals
        ) { batch in
            var out: [Float] = []
            out.reserveCapacity(batch.outputCount * batch.dimOut)
            for key in batch.evalKeys {
                let r = Int(key.recording)
                out += filters[r].predict(times: [recs[r].behaviourTimes[Int(key.sample)]])
            }
            return out
        }
        return Result(
            r2: scored.r2, mean: scored.mean, sessions: reports, options: o, seconds: Date().timeIntervalSince(t0))
    }

    /// E.g. `history 0.30 s (15 bins), λ 0.01; fit on train (21034 samples); chosen on valid`.
    public static func describe(_ r: SessionReport, causal: Bool) -> String {
        var s = String(format: "history %.2f s (%ld bins)", r.historySeconds, r.choice.past)
        if !causal { s += String(format: ", horizon %.2f s (%ld bins)", r.horizonSeconds, r.choice.future) }
        s += String(format: ", λ %g; fit on %@ (%ld samples); chosen ", r.choice.ridge, r.fit, r.fitSamples)
        s += r.selection.method == .none ? "by the caller" : "on " + r.selection.description
        return s
    }

    /// Seconds → bins of `bin` (at least one for a history).
    static func bins(_ seconds: Double, _ bin: Double) -> Int { Int((seconds / bin).rounded()) }

    /// One session's filter: the plan, the history (and horizon) and λ it picks, and the final fit
    /// on the whole fit domain.
    public static func fit(_ s: Session, options o: Options) throws -> (filter: WienerFilter, report: SessionReport) {
        guard o.bin > 0 && o.bin <= maxBin else {
            throw WienerError.invalidOption("bin \(o.bin) s: must be above 0 and at most \(maxBin) s")
        }
        let r = s.recording
        let samples = WienerSamples(r, weights: o.weights)
        let spikes = try SpikeBins(r, bin: o.bin)
        let histories = unique((o.history.map { [$0] } ?? historyGrid).map { max(1, bins($0, o.bin)) })
        let horizons = o.causal ? [0] : unique((o.horizon.map { [$0] } ?? horizonGrid).map { bins($0, o.bin) })
        let ridges = o.ridge.map { [$0] } ?? ridgeGrid
        let plan = try selectionPlan(r, samples: samples, options: o, choices: histories.count * horizons.count)
        let widest = ((histories.max() ?? 1) + (horizons.max() ?? 0)) * spikes.units + 1
        try MemoryBudget.checkWiener(
            features: widest, blocks: plan.blocks.count, session: r.sessionID,
            history: "\(histories.max() ?? 1) history bins\(o.causal ? "" : " + \(horizons.max() ?? 0) horizon bins") "
                + "× \(spikes.units) units")
        let search = WienerSearch(bins: spikes, samples: samples, plan: plan)
        do {
            var seen: [Intervals] = []
            func stage(past: Int, future: Int, leading: [Int]) throws -> (WienerSearch.Outcome, Int, Int, Double?) {
                let outcome = try search.run(past: past, future: future, leading: leading, ridges: ridges)
                seen += outcome.scoredDomains
                let best = WienerSearch.best(outcome.scores)
                return (outcome, best?.candidate ?? 0, best?.ridge ?? 0, best?.r2)
            }
            // Stage 1: history and λ on the causal design of the longest history (the shorter ones
            // are its leading blocks); skipped when the acausal filter's history is given.
            let longest = histories.max() ?? histories[0]
            let history =
                o.causal || histories.count > 1 ? try stage(past: longest, future: 0, leading: histories) : nil
            let past = history.map { histories[$0.1] } ?? histories[0]
            // Stage 2 (acausal): horizon and λ after that history, its design's leading blocks again.
            let longestHorizon = horizons.max() ?? 0
            let horizon =
                o.causal ? nil : try stage(past: past, future: longestHorizon, leading: horizons.map { past + $0 })
            let future = horizon.map { horizons[$0.1] } ?? 0
            guard let (chosen, _, ridgeIndex, score) = horizon ?? history else {
                throw WienerError.notSolvable("neither a history nor a horizon to fit")
            }
            let ridge = ridges[ridgeIndex]
            let system = try StandardisedRidge(chosen.total)
            let solution = try system.solve(try search.factor(system, ridge), leading: (past + future) * spikes.units)
            let choice = WienerChoice(past: past, future: future, ridge: ridge)
            let report = SessionReport(
                choice: choice, bin: o.bin, fit: s.fit, fitSamples: chosen.total.samples, selection: plan,
                selectionR2: score, selectionSamples: chosen.scoredSamples, selectionDomains: seen)
            return (WienerFilter(bins: spikes, choice: choice, solution: solution), report)
        } catch let e as WienerError {
            throw e.naming(r.sessionID)
        }
    }

    /// Where `r`'s values are chosen (`WienerSelectionPlan`); `choices`: history × horizon candidates.
    static func selectionPlan(_ r: Recording, samples: WienerSamples, options o: Options, choices: Int) throws
        -> WienerSelectionPlan
    {
        if choices == 1 && o.ridge != nil { return .fixed(fit: r.trainDomain) }
        let validHasSamples = samples.indices(in: r.validDomain).contains { samples.finite[$0] }
        if o.split == .test && validHasSamples { return .validation(fit: r.trainDomain, valid: r.validDomain) }
        return .crossValidation(fit: r.trainDomain, trials: r.trials.items, folds: o.folds)
    }

    static func unique(_ a: [Int]) -> [Int] {
        var seen = Set<Int>()
        return a.filter { seen.insert($0).inserted }
    }
}

extension WienerBaseline {
    /// Sessions on the training data a checkpoint's sessions learned from (`Checkpoint.trainingSubsets`):
    /// the whole training split, or the same few-shot subset, drawn again with the run's seed. A
    /// session whose training data cannot be told is an error: a filter fitted on other data than
    /// the model's is no like-for-like floor.
    public static func sessions(
        _ recordings: [Recording], trainedOn subsets: [String: TrainingSubset], note: (String) -> Void = { _ in }
    ) throws -> [Session] {
        try recordings.map { r in
            switch subsets[r.sessionID] ?? .unknown("the checkpoint does not list it") {
            case .whole:
                return Session(recording: r)
            case .fewShot(let f, let seed):
                let (subset, kept, available) = try r.keepingTrainingTrials(f, seed: RunSeeds(root: seed).fewShot)
                let count = FewShotCount(kept: kept, available: available)
                note("baseline: \(r.sessionID) is fitted on the checkpoint's few-shot subset, \(count.description)")
                return Session(recording: subset, fit: count.description)
            case .unknown(let why):
                throw WienerError.unknownTrainingData(
                    "cannot tell which training trials \(r.sessionID) was trained on (\(why)); a filter fitted on "
                        + "other data would be no like-for-like floor (poyo baseline --train-trials N fits one on "
                        + "a subset you name)")
            }
        }
    }
}
