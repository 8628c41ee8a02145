/// A set of intervals whose behaviour samples get a loss weight (docs/spec.md §4.3).
public struct WeightedIntervals: Equatable, Sendable {
    /// Source name, e.g. `"movement_phases/reach_period"`.
    public var name: String
    public var intervals: Intervals
    public var weight: Float

    public init(name: String, intervals: Intervals, weight: Float) {
        self.name = name
        self.intervals = intervals
        self.weight = weight
    }
}

/// One recording session: spikes, units, behaviour, splits, weights.
///
/// Times are absolute seconds within the recording (`absolute_start` 0). Unit ids are global
/// (`"\(sessionID)/<local id>"`, the uniquification torch_brain applies on load).
///
/// Spikes live either in memory (`spikeTimes`, `spikeUnit`; synthetic data, small files) or in
/// the file, read per window through `spikeSource` (`windowSpikes(from:to:)`); everything else is
/// always in memory. Code that needs spikes should go through `windowSpikes` or `spikeCount`,
/// which work for both.
public struct Recording: Equatable, Sendable {
    public var sessionID: String
    public var subjectID: String
    /// Marks a session kept out of pre-training ("new animal"), for fine-tuning experiments.
    public var heldOut: Bool

    /// Time span the recording covers.
    public var domain: Intervals

    /// `[S]` spike times (s), ascending; empty when `spikeSource` holds the spikes.
    public var spikeTimes: [Double]
    /// `[S]` index into `unitIDs` of each spike; empty when `spikeSource` holds the spikes.
    public var spikeUnit: [Int32]
    /// Reads spikes from the file per window (lazy recordings); `nil` for in-memory spikes.
    public var spikeSource: (any SpikeSource)?
    /// `[U]` global unit ids.
    public var unitIDs: [String]

    /// `[T]` behaviour sample times (s), ascending.
    public var behaviourTimes: [Double]
    /// `[T, behaviourDim]` raw behaviour (cursor velocity); may hold NaN (masked in training).
    public var behaviour: [Float]
    public var behaviourDim: Int
    /// `[T, 2]` cursor position: what the synthetic generator writes to `cursor/pos`. Readers leave it
    /// empty (nothing trains or scores on it).
    public var position: [Float]
    /// `[behaviourDim]` target normalisation: `(v − mean) / std`.
    public var normalizationMean: [Float]
    public var normalizationStd: [Float]

    /// Trial intervals (temporaldata `trials`).
    public var trials: Intervals
    /// `movement_phases` children by name (`hold_period`, `reach_period`, `return_period`, ...).
    public var movementPhases: [String: Intervals]

    public var trainDomain: Intervals
    public var validDomain: Intervals
    public var testDomain: Intervals

    /// A sample's loss weight is the product of the weights of the sets containing it (default 1).
    public var lossWeights: [WeightedIntervals]
    /// Samples scored in evaluation (e.g. reach periods); `nil` scores every sample.
    public var evalIntervals: Intervals?

    public init(
        sessionID: String, subjectID: String, heldOut: Bool = false, domain: Intervals,
        spikeTimes: [Double], spikeUnit: [Int32], unitIDs: [String],
        behaviourTimes: [Double], behaviour: [Float], behaviourDim: Int = 2, position: [Float] = [],
        normalizationMean: [Float], normalizationStd: [Float],
        trials: Intervals = Intervals(), movementPhases: [String: Intervals] = [:],
        trainDomain: Intervals, validDomain: Intervals, testDomain: Intervals,
        lossWeights: [WeightedIntervals] = [], evalIntervals: Intervals? = nil,
        spikeSource: (any SpikeSource)? = nil
    ) {
        self.sessionID = sessionID
        self.subjectID = subjectID
        self.heldOut = heldOut
        self.domain = domain
        self.spikeTimes = spikeTimes
        self.spikeUnit = spikeUnit
        self.unitIDs = unitIDs
        self.behaviourTimes = behaviourTimes
        self.behaviour = behaviour
        self.behaviourDim = behaviourDim
        self.position = position
        self.normalizationMean = normalizationMean
        self.normalizationStd = normalizationStd
        self.trials = trials
        self.movementPhases = movementPhases
        self.trainDomain = trainDomain
        self.validDomain = validDomain
        self.testDomain = testDomain
        self.lossWeights = lossWeights
        self.evalIntervals = evalIntervals
        self.spikeSource = spikeSource
    }

    public var unitCount: Int { unitIDs.count }
    public var spikeCount: Int { spikeSource?.spikeCount ?? spikeTimes.count }
    /// Whether spikes are read from the file per window.
    public var isLazy: Bool { spikeSource != nil }

    /// The spikes with `start <= t < end`, in time order: times and local unit indices.
    /// `keep[u] == false` drops unit `u` (a lazy source then need not read it).
    public func windowSpikes(from start: Double, to end: Double, keep: [Bool]? = nil) throws -> (
        times: [Double], units: [Int32]
    ) {
        if let spikeSource { return try spikeSource.spikes(from: start, to: end, keep: keep) }
        let range = spikeRange(from: start, to: end)
        guard let keep else { return (Array(spikeTimes[range]), Array(spikeUnit[range])) }
        var t: [Double] = []
        var u: [Int32] = []
        for i in range where keep.indices.contains(Int(spikeUnit[i])) && keep[Int(spikeUnit[i])] {
            t.append(spikeTimes[i])
            u.append(spikeUnit[i])
        }
        return (t, u)
    }

    /// A copy with every spike in memory (reads a lazy source whole).
    public func materialized() throws -> Recording {
        guard let spikeSource else { return self }
        var r = self
        (r.spikeTimes, r.spikeUnit) = try spikeSource.allSpikes()
        r.spikeSource = nil
        return r
    }

    public static func == (a: Recording, b: Recording) -> Bool {
        a.sessionID == b.sessionID && a.subjectID == b.subjectID && a.heldOut == b.heldOut && a.domain == b.domain
            && a.spikeTimes == b.spikeTimes && a.spikeUnit == b.spikeUnit && a.unitIDs == b.unitIDs
            && a.spikeSource?.identity == b.spikeSource?.identity
            && a.behaviourTimes == b.behaviourTimes && a.behaviour.elementsEqual(b.behaviour, by: sameFloat)
            && a.behaviourDim == b.behaviourDim && a.position.elementsEqual(b.position, by: sameFloat)
            && a.normalizationMean == b.normalizationMean && a.normalizationStd == b.normalizationStd
            && a.trials == b.trials && a.movementPhases == b.movementPhases
            && a.trainDomain == b.trainDomain && a.validDomain == b.validDomain && a.testDomain == b.testDomain
            && a.lossWeights == b.lossWeights && a.evalIntervals == b.evalIntervals
    }
    public var sampleCount: Int { behaviourTimes.count }

    /// The prefix that turns a local unit id into a global one.
    public var unitPrefix: String { sessionID + "/" }

    /// Indices of the spikes with `start <= t < end` (two binary searches).
    public func spikeRange(from start: Double, to end: Double) -> Range<Int> {
        let lo = lowerBound(spikeTimes, start)
        return lo..<Swift.max(lo, lowerBound(spikeTimes, end))
    }

    /// Indices of the behaviour samples with `start <= t < end`.
    public func sampleRange(from start: Double, to end: Double) -> Range<Int> {
        let lo = lowerBound(behaviourTimes, start)
        return lo..<Swift.max(lo, lowerBound(behaviourTimes, end))
    }

    /// Checks the invariants the sampler and tokenizer rely on; `file` names the source in errors.
    public func validate(file: String) throws {
        func bad(_ field: String, _ reason: String) -> DataError {
            .invalid(file: file, field: field, reason: reason)
        }
        guard spikeSource == nil || spikeTimes.isEmpty else {
            throw bad("spikes", "both in memory and in the file")
        }
        guard spikeUnit.count == spikeTimes.count else {
            throw bad("spikes/unit_index", "\(spikeUnit.count) entries for \(spikeTimes.count) spikes")
        }
        try checkSortedFinite(spikeTimes, field: "spikes/timestamps", file: file)
        let u = Int32(unitIDs.count)
        for (i, k) in spikeUnit.enumerated() where k < 0 || k >= u {
            throw bad("spikes/unit_index", "spike \(i) has unit \(k), outside 0..<\(u)")
        }
        guard Set(unitIDs).count == unitIDs.count else { throw bad("units/id", "unit ids are not unique") }
        guard behaviourDim > 0, behaviour.count == behaviourTimes.count * behaviourDim else {
            throw bad(
                "behaviour", "\(behaviour.count) values for \(behaviourTimes.count) samples of dim \(behaviourDim)")
        }
        guard position.isEmpty || position.count == behaviourTimes.count * 2 else {
            throw bad("cursor/pos", "\(position.count) values for \(behaviourTimes.count) samples")
        }
        try checkSortedFinite(behaviourTimes, field: "behaviour timestamps", file: file)
        guard normalizationMean.count == behaviourDim, normalizationStd.count == behaviourDim,
            normalizationStd.allSatisfy({ $0.isFinite && $0 > 0 }), normalizationMean.allSatisfy(\.isFinite)
        else {
            throw bad("normalization", "need \(behaviourDim) finite means and positive stds")
        }
        var sets: [(String, Intervals)] = [
            ("domain", domain), ("train_domain", trainDomain),
            ("valid_domain", validDomain), ("test_domain", testDomain),
            ("trials", trials),
        ]
        sets += movementPhases.sorted { $0.key < $1.key }.map { ("movement_phases/\($0.key)", $0.value) }
        sets += lossWeights.map { ($0.name, $0.intervals) }
        if let evalIntervals { sets.append(("eval intervals", evalIntervals)) }
        for (name, set) in sets {
            for iv in set where !(iv.start.isFinite && iv.end.isFinite && iv.start <= iv.end) {
                throw bad(name, "interval [\(iv.start), \(iv.end)) is not finite and ordered")
            }
            for iv in set where abs(iv.start) > Recording.maxTime || abs(iv.end) > Recording.maxTime {
                throw bad(
                    name, "interval [\(iv.start), \(iv.end)) lies beyond ±\(Recording.maxTime) s (corrupt times?)")
            }
        }
        for w in lossWeights where !(w.weight.isFinite && w.weight >= 0) {
            throw bad(w.name, "loss weight \(w.weight) must be finite and >= 0")
        }
    }
}

extension Recording {
    /// Every split with time in it must hold spikes and finite behaviour: a model could learn or be
    /// scored on nothing else (all spikes shifted outside the domain once trained and printed an R²).
    /// The readers call it after `validate`; the error names the file and the split.
    public func checkUsable(file: String) throws {
        for (name, split) in [("train", trainDomain), ("valid", validDomain), ("test", testDomain)]
        where split.totalLength > 0 {
            let seconds = String(format: "%.1f s", split.totalLength)
            guard try hasSpikes(in: split) else {
                throw DataError.invalid(
                    file: file, field: "spikes/timestamps",
                    reason: "no spike lies in the \(name) split (\(seconds)): there is nothing to decode from")
            }
            guard hasFiniteBehaviour(in: split) else {
                throw DataError.invalid(
                    file: file, field: "behaviour",
                    reason:
                        "no finite behaviour sample lies in the \(name) split (\(seconds)): nothing to learn or score")
            }
        }
    }

    /// Whether any spike lies in `set`; a lazy source is read 10 s at a time, stopping at the first.
    func hasSpikes(in set: Intervals) throws -> Bool {
        for iv in set.items {
            if spikeSource == nil {
                if !spikeRange(from: iv.start, to: iv.end).isEmpty { return true }
                continue
            }
            var t = iv.start
            while t < iv.end {
                let end = Swift.min(iv.end, t + 10)
                if !(try windowSpikes(from: t, to: end).times.isEmpty) { return true }
                t = end
            }
        }
        return false
    }

    func hasFiniteBehaviour(in set: Intervals) -> Bool {
        for iv in set.items {
            for i in sampleRange(from: iv.start, to: iv.end) {
                let row = behaviour[(i * behaviourDim)..<((i + 1) * behaviourDim)]
                if row.allSatisfy(\.isFinite) { return true }
            }
        }
        return false
    }
}

extension Recording {
    /// Times beyond ±10⁸ s (three years) are taken for corruption, not data.
    public static let maxTime = 1e8
}

/// NaN-aware equality for behaviour values (NaN marks missing samples, and equals itself here).
@inline(__always) func sameFloat(_ x: Float, _ y: Float) -> Bool { x == y || (x.isNaN && y.isNaN) }

/// Throws unless `a` is finite and ascending (equal neighbours allowed).
func checkSortedFinite(_ a: [Double], field: String, file: String) throws {
    var prev = -Double.infinity
    for i in a.indices {
        let t = a[i]
        guard t.isFinite else { throw DataError.invalid(file: file, field: field, reason: "entry \(i) is \(t)") }
        guard t >= prev else {
            throw DataError.invalid(
                file: file, field: field, reason: "not sorted: entry \(i) (\(t)) < entry \(i - 1) (\(prev))")
        }
        prev = t
    }
}
