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
/// Per-sample targets, weights and eval flags and per-unit vocabulary rows are computed once here,
/// so `batch` only slices arrays found by binary search.
public struct Tokenizer: Sendable {
    public let config: TokenizerConfig
    public let recordings: [Recording]
    /// `[recording][U]` unit-vocabulary row of each local unit.
    let unitRows: [[Int32]]
    /// `[recording]` session-vocabulary row.
    let sessionRows: [Int32]
    /// `[recording][T, dim]` normalised targets (0 where not finite).
    let targets: [[Float]]
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
        var targets: [[Float]] = []
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
            let (t, w, e) = Tokenizer.sampleTables(r)
            targets.append(t)
            weights.append(w)
            scored.append(e)
        }
        self.unitRows = unitRows
        self.sessionRows = sessionRows
        self.targets = targets
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
        let n = r.sampleCount
        var target = [Float](repeating: 0, count: n * d)
        var weight = [Float](repeating: 1, count: n)
        var scored = [Bool](repeating: r.evalIntervals == nil, count: n)
        for i in 0..<n {
            let t = r.behaviourTimes[i]
            for w in r.lossWeights where w.intervals.contains(t) { weight[i] *= w.weight }
            if let e = r.evalIntervals { scored[i] = e.contains(t) }
            var finite = true
            for k in 0..<d {
                let v = (r.behaviour[i * d + k] - r.normalizationMean[k]) / r.normalizationStd[k]
                if v.isFinite { target[i * d + k] = v } else { finite = false }
            }
            // A missing (non-finite) sample counts neither in the loss nor in the metrics. A finite
            // sample keeps its real target whatever its loss weight: a weight of 0 removes it from
            // the loss (w · error = 0), not from scoring, as in torch_brain.
            if !finite {
                weight[i] = 0
                scored[i] = false
                for k in 0..<d { target[i * d + k] = 0 }
            }
        }
        return (target, weight, scored)
    }

    /// Packs `windows` into one batch; `evalKeys` adds stitching keys for evaluation.
    public func batch(_ windows: [WindowRequest], evalKeys: Bool = false) throws -> Batch {
        let seqLen = config.sequenceLength
        // Size everything first so the hot loops only append.
        var inCount = 0
        var outCount = 0
        for w in windows {
            guard recordings.indices.contains(w.recording) else {
                throw TokenizerError.badRequest("recording \(w.recording) outside 0..<\(recordings.count)")
            }
            let r = recordings[w.recording]
            inCount += 2 * (w.keptUnits?.count ?? r.unitCount)
            if !r.isLazy { inCount += r.spikeRange(from: w.start, to: w.start + seqLen).count }
            outCount += r.sampleRange(from: w.start, to: w.start + seqLen).count
        }
        var unitIndex: [Int32] = []
        var tokenType: [Int32] = []
        var inTimes: [Double] = []
        unitIndex.reserveCapacity(inCount)
        tokenType.reserveCapacity(inCount)
        inTimes.reserveCapacity(inCount)
        var outTimes: [Double] = []
        var tgt: [Float] = []
        var wgt: [Float] = []
        var keys: [EvalKey] = []
        outTimes.reserveCapacity(outCount)
        tgt.reserveCapacity(outCount * dimOut)
        wgt.reserveCapacity(outCount)
        if evalKeys { keys.reserveCapacity(outCount) }
        var inOffsets: [Int32] = [0]
        var outOffsets: [Int32] = [0]
        var sessions: [Int32] = []
        inOffsets.reserveCapacity(windows.count + 1)
        outOffsets.reserveCapacity(windows.count + 1)
        var keep: [Bool] = []

        for w in windows {
            let r = recordings[w.recording]
            let rows = unitRows[w.recording]
            keep = [Bool](repeating: w.keptUnits == nil, count: r.unitCount)
            if let kept = w.keptUnits {
                for u in kept {
                    guard u >= 0, Int(u) < r.unitCount else {
                        throw TokenizerError.badRequest("kept unit \(u) outside 0..<\(r.unitCount) in \(r.sessionID)")
                    }
                    keep[Int(u)] = true
                }
            }
            // START/END pairs in unit order.
            for u in 0..<r.unitCount where keep[u] {
                unitIndex.append(rows[u])
                tokenType.append(1)
                inTimes.append(0)
                unitIndex.append(rows[u])
                tokenType.append(2)
                inTimes.append(seqLen)
            }
            // Spikes of kept units, in time order.
            if r.isLazy {
                let (times, units) = try r.windowSpikes(
                    from: w.start, to: w.start + seqLen, keep: w.keptUnits == nil ? nil : keep)
                for (t, u) in zip(times, units) where keep[Int(u)] {
                    unitIndex.append(rows[Int(u)])
                    tokenType.append(0)
                    inTimes.append(t - w.start)
                }
            } else {
                for s in r.spikeRange(from: w.start, to: w.start + seqLen) {
                    let u = Int(r.spikeUnit[s])
                    guard keep[u] else { continue }
                    unitIndex.append(rows[u])
                    tokenType.append(0)
                    inTimes.append(r.spikeTimes[s] - w.start)
                }
            }
            inOffsets.append(Int32(unitIndex.count))

            let samples = r.sampleRange(from: w.start, to: w.start + seqLen)
            let t = targets[w.recording]
            let wt = weights[w.recording]
            let e = scored[w.recording]
            for i in samples {
                // Around a short interval only its own samples count: outside it, weight 0 in
                // training, and no query at all in evaluation (queries do not see each other).
                let inside = w.region?.contains(r.behaviourTimes[i]) ?? true
                if evalKeys && !inside { continue }
                outTimes.append(r.behaviourTimes[i] - w.start)
                for k in 0..<dimOut { tgt.append(t[i * dimOut + k]) }
                wgt.append(inside ? wt[i] : 0)
                if evalKeys { keys.append(EvalKey(recording: Int32(w.recording), sample: Int32(i), scored: e[i])) }
            }
            outOffsets.append(Int32(outTimes.count))
            sessions.append(sessionRows[w.recording])
        }
        return Batch(
            windowCount: windows.count, inputUnitIndex: unitIndex, inputTokenType: tokenType,
            inputTimestamps: inTimes, inputOffsets: inOffsets, latentIndex: latentIndex,
            latentTimestamps: latentTimestamps, outputTimestamps: outTimes, outputOffsets: outOffsets,
            sessionIndex: sessions, targets: tgt, weights: wgt, dimOut: dimOut, evalKeys: keys)
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
