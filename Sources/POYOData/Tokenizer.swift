/// POYO tokenization settings (torch_brain names: `sequence_length`, `latent_step`,
/// `num_latents_per_step`).
public struct TokenizerConfig: Sendable, Equatable {
    public var sequenceLength: Double
    public var latentStep: Double
    public var numLatentsPerStep: Int

    public init(sequenceLength: Double = 1.0, latentStep: Double = 0.125, numLatentsPerStep: Int = 16) {
        self.sequenceLength = sequenceLength
        self.latentStep = latentStep
        self.numLatentsPerStep = numLatentsPerStep
    }
}

/// A window to tokenize: recording, absolute start, and the units kept by `UnitDropout`
/// (local indices, ascending; `nil` keeps every unit).
public struct WindowRequest: Sendable {
    public var recording: Int
    public var start: Double
    public var keptUnits: [Int32]?
    /// The labelled interval of a window placed around a short interval (`SampledWindow.region`):
    /// samples outside it get loss weight 0 and are left out of evaluation batches.
    public var region: Interval?

    public init(recording: Int, start: Double, keptUnits: [Int32]? = nil, region: Interval? = nil) {
        self.recording = recording
        self.start = start
        self.keptUnits = keptUnits
        self.region = region
    }
}

public enum TokenizerError: Error, CustomStringConvertible, Equatable {
    case unknownUnit(session: String, unit: String)
    case unknownSession(String)
    case badRequest(String)

    public var description: String {
        switch self {
        case .unknownUnit(let s, let u): return "session \(s): unit \"\(u)\" is not in the unit vocabulary"
        case .unknownSession(let s): return "session \"\(s)\" is not in the session vocabulary"
        case .badRequest(let why): return "bad tokenizer request: \(why)"
        }
    }
}

/// Turns windows of recordings into packed `Batch`es (docs/spec.md §2, §4.3).
///
/// Per window `[start, start + sequenceLength)`:
/// - inputs: START (type 1, t = 0) and END (type 2, t = sequenceLength) for every kept unit in unit
///   order (u0 START, u0 END, u1 START, …), then the kept units' spikes in time order (type 0,
///   t = spike − start); unit ids are rows of the unit vocabulary;
/// - latents: `T = |arange(0, sequenceLength, latentStep)|` steps at `(k + ½)·latentStep`, ids
///   `tile(0..<L, T)`;
/// - outputs: one query per behaviour sample in the window, target `(v − mean) / std`, weight = the
///   product of the weights of the intervals containing the sample (non-finite target → 0, 0, and
///   the sample is not scored in evaluation).
///
/// Spikes come from `Recording.windowSpikes`, so lazy recordings are read one window at a time.
///
/// Per-sample weights and eval flags and per-unit vocabulary rows are computed once here, so `batch`
/// only slices arrays found by binary search; targets are normalised as windows are packed (a table
/// of them would copy every session's behaviour: 300 MB at a thousand sessions).
public struct Tokenizer: Sendable {
    public let config: TokenizerConfig
    public let recordings: [Recording]
    /// `[recording][U]` unit-vocabulary row of each local unit.
    let unitRows: [[Int32]]
    /// `[recording]` session-vocabulary row.
    let sessionRows: [Int32]
    /// `[recording][T]` loss weight (0 where the target is not finite).
    let weights: [[Float]]
    /// `[recording][T]` whether the sample lies in the eval mask.
    let scored: [[Bool]]
    public let dimOut: Int
    /// `[N_lat]` per window.
    public let latentIndex: [Int32]
    public let latentTimestamps: [Double]

    public init(
        recordings: [Recording], unitVocabulary: Vocabulary, sessionVocabulary: Vocabulary,
        config: TokenizerConfig = TokenizerConfig()
    ) throws {
        guard config.sequenceLength > 0, config.latentStep > 0, config.numLatentsPerStep > 0 else {
            throw TokenizerError.badRequest("sequenceLength, latentStep and numLatentsPerStep must be positive")
        }
        let dim = recordings.first?.behaviourDim ?? 2
        guard recordings.allSatisfy({ $0.behaviourDim == dim }) else {
            throw TokenizerError.badRequest("recordings have different behaviour dimensions")
        }
        self.config = config
        self.recordings = recordings
        self.dimOut = dim
        var unitRows: [[Int32]] = []
        var sessionRows: [Int32] = []
        var weights: [[Float]] = []
        var scored: [[Bool]] = []
        for r in recordings {
            unitRows.append(
                try r.unitIDs.map { id in
                    guard let row = unitVocabulary.row(of: id) else {
                        throw TokenizerError.unknownUnit(session: r.sessionID, unit: id)
                    }
                    return Int32(row)
                })
            guard let s = sessionVocabulary.row(of: r.sessionID) else {
                throw TokenizerError.unknownSession(r.sessionID)
            }
            sessionRows.append(Int32(s))
            let (w, e) = Tokenizer.sampleFlags(r)
            weights.append(w)
            scored.append(e)
        }
        self.unitRows = unitRows
        self.sessionRows = sessionRows
        self.weights = weights
        self.scored = scored

        // torch.arange(0, seq_len, step) has ceil(seq_len / step) points.
        let steps = Int((config.sequenceLength / config.latentStep).rounded(.up))
        let l = config.numLatentsPerStep
        latentIndex = (0..<(steps * l)).map { Int32($0 % l) }
        latentTimestamps = (0..<(steps * l)).map { (Double($0 / l) + 0.5) * config.latentStep }
    }

    /// Normalised targets `[T, dim]`, loss weights `[T]` and eval flags `[T]` of every behaviour
    /// sample of `r`: what training and evaluation use (the Wiener baseline fits with the same).
    public static func sampleTables(_ r: Recording) -> ([Float], [Float], [Bool]) {
        let d = r.behaviourDim
        var target = [Float](repeating: 0, count: r.sampleCount * d)
        for i in 0..<r.sampleCount where hasTarget(r, sample: i) {
            for k in 0..<d { target[i * d + k] = self.target(r, sample: i, dim: k) }
        }
        let (weight, scored) = sampleFlags(r)
        return (target, weight, scored)
    }

    /// Loss weights `[T]` and eval flags `[T]` of every behaviour sample of `r` (`sampleTables`).
    static func sampleFlags(_ r: Recording) -> ([Float], [Bool]) {
        let n = r.sampleCount
        var weight = [Float](repeating: 1, count: n)
        var scored = [Bool](repeating: r.evalIntervals == nil, count: n)
        // Interval by interval over the (sorted) sample times rather than a search per sample: at a
        // thousand sessions, a search per sample and set was a second of every start (issue 24).
        for w in r.lossWeights { forEachSample(of: r, in: w.intervals) { weight[$0] *= w.weight } }
        if let e = r.evalIntervals { forEachSample(of: r, in: e) { scored[$0] = true } }
        // A missing (non-finite) sample counts neither in the loss nor in the metrics. A finite
        // sample keeps its real target whatever its loss weight: a weight of 0 removes it from
        // the loss (w · error = 0), not from scoring, as in torch_brain.
        for i in 0..<n where !hasTarget(r, sample: i) {
            weight[i] = 0
            scored[i] = false
        }
        return (weight, scored)
    }

    /// Sample `i`'s normalised target in dimension `k`: `(v − mean) / std`.
    @inline(__always)
    static func target(_ r: Recording, sample i: Int, dim k: Int) -> Float {
        (r.behaviour[i * r.behaviourDim + k] - r.normalizationMean[k]) / r.normalizationStd[k]
    }

    /// Whether sample `i` has a finite target in every dimension (else it is missing: target 0).
    @inline(__always)
    static func hasTarget(_ r: Recording, sample i: Int) -> Bool {
        for k in 0..<r.behaviourDim where !target(r, sample: i, dim: k).isFinite { return false }
        return true
    }

    /// Calls `body` with the index of every behaviour sample of `r` inside `set`, once each (a
    /// sample in two overlapping intervals of an unsorted set still counts once).
    static func forEachSample(of r: Recording, in set: Intervals, _ body: (Int) -> Void) {
        guard set.isSortedDisjoint else {
            for i in r.behaviourTimes.indices where set.contains(r.behaviourTimes[i]) { body(i) }
            return
        }
        for iv in set { for i in r.sampleRange(from: iv.start, to: iv.end) { body(i) } }
    }

    /// Packs `windows` into one batch; `evalKeys` adds stitching keys for evaluation.
    public func batch(_ windows: [WindowRequest], evalKeys: Bool = false) throws -> Batch {
        var packed = PackedWindows(dimOut: dimOut, evalKeys: evalKeys)
        packed.reserve(windows.count)
        for w in windows {
            guard recordings.indices.contains(w.recording) else {
                throw TokenizerError.badRequest("recording \(w.recording) outside 0..<\(recordings.count)")
            }
            try packInputs(w, into: &packed)
            packOutputs(w, into: &packed)
            packed.sessions.append(sessionRows[w.recording])
        }
        return Batch(
            windowCount: windows.count, inputUnitIndex: packed.unitIndex, inputTokenType: packed.tokenType,
            inputTimestamps: packed.inTimes, inputOffsets: packed.inOffsets, latentIndex: latentIndex,
            latentTimestamps: latentTimestamps, outputTimestamps: packed.outTimes, outputOffsets: packed.outOffsets,
            sessionIndex: packed.sessions, targets: packed.targets, weights: packed.weights, dimOut: dimOut,
            evalKeys: packed.keys)
    }

    /// One window's input tokens: a START and an END token per kept unit in unit order, then the kept
    /// units' spikes in time order (times relative to the window start).
    func packInputs(_ w: WindowRequest, into p: inout PackedWindows) throws {
        let r = recordings[w.recording]
        let rows = unitRows[w.recording]
        var keep = [Bool](repeating: w.keptUnits == nil, count: r.unitCount)
        if let kept = w.keptUnits {
            for u in kept {
                guard u >= 0, Int(u) < r.unitCount else {
                    throw TokenizerError.badRequest("kept unit \(u) outside 0..<\(r.unitCount) in \(r.sessionID)")
                }
                keep[Int(u)] = true
            }
        }
        let seqLen = config.sequenceLength
        for u in 0..<r.unitCount where keep[u] {
            p.appendInput(unit: rows[u], type: 1, time: 0)
            p.appendInput(unit: rows[u], type: 2, time: seqLen)
        }
        let (times, units) = try r.windowSpikes(
            from: w.start, to: w.start + seqLen, keep: w.keptUnits == nil ? nil : keep)
        for (t, u) in zip(times, units) where keep[Int(u)] {
            p.appendInput(unit: rows[Int(u)], type: 0, time: t - w.start)
        }
        p.inOffsets.append(Int32(p.unitIndex.count))
    }

    /// One window's queries: the behaviour samples inside it, with targets, weights and (for
    /// evaluation) stitching keys. Around a short interval only its own samples count: outside it,
    /// weight 0 in training, and no query at all in evaluation (queries do not see each other).
    func packOutputs(_ w: WindowRequest, into p: inout PackedWindows) {
        let r = recordings[w.recording]
        let wt = weights[w.recording]
        let e = scored[w.recording]
        for i in r.sampleRange(from: w.start, to: w.start + config.sequenceLength) {
            let inside = w.region?.contains(r.behaviourTimes[i]) ?? true
            if p.evalKeys && !inside { continue }
            p.outTimes.append(r.behaviourTimes[i] - w.start)
            let finite = Tokenizer.hasTarget(r, sample: i)
            for k in 0..<dimOut { p.targets.append(finite ? Tokenizer.target(r, sample: i, dim: k) : 0) }
            p.weights.append(inside ? wt[i] : 0)
            if p.evalKeys { p.keys.append(EvalKey(recording: Int32(w.recording), sample: Int32(i), scored: e[i])) }
        }
        p.outOffsets.append(Int32(p.outTimes.count))
    }
}

/// The arrays of a batch being packed, window after window.
struct PackedWindows {
    let dimOut: Int
    let evalKeys: Bool
    var unitIndex: [Int32] = []  // [N_in]
    var tokenType: [Int32] = []  // [N_in]
    var inTimes: [Double] = []  // [N_in]
    var inOffsets: [Int32] = [0]  // [B + 1]
    var outTimes: [Double] = []  // [N_out]
    var targets: [Float] = []  // [N_out, dimOut]
    var weights: [Float] = []  // [N_out]
    var keys: [EvalKey] = []  // [N_out] with evalKeys, else empty
    var outOffsets: [Int32] = [0]  // [B + 1]
    var sessions: [Int32] = []  // [B]

    init(dimOut: Int, evalKeys: Bool) {
        self.dimOut = dimOut
        self.evalKeys = evalKeys
    }

    mutating func reserve(_ windows: Int) {
        inOffsets.reserveCapacity(windows + 1)
        outOffsets.reserveCapacity(windows + 1)
        sessions.reserveCapacity(windows)
    }

    mutating func appendInput(unit: Int32, type: Int32, time: Double) {
        unitIndex.append(unit)
        tokenType.append(type)
        inTimes.append(time)
    }
}

extension Tokenizer {
    /// Requests for sampled windows; with `dropout` (training) each window keeps a fresh random
    /// subset of its recording's units, drawn from `rng` in window order.
    public func requests<C: Collection>(for windows: C, dropout: UnitDropout?, rng: inout SeededRNG) -> [WindowRequest]
    where C.Element == SampledWindow {
        windows.map { w in
            var kept: [Int32]?
            if let dropout, recordings.indices.contains(w.recording) {
                kept = dropout.keptUnits(unitCount: recordings[w.recording].unitCount, rng: &rng)
            }
            return WindowRequest(recording: w.recording, start: w.start, keptUnits: kept, region: w.region)
        }
    }
}
