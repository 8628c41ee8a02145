/// One window to tokenize: a recording (index into the dataset), an absolute start time (s) and,
/// for an interval shorter than the window, that interval: only its behaviour samples count (the
/// rest of the window is input context).
public struct SampledWindow: Hashable, Sendable {
    public var recording: Int
    public var start: Double
    /// The labelled interval when it is shorter than the window; `nil`: the whole window counts.
    public var region: Interval?

    public init(recording: Int, start: Double, region: Interval? = nil) {
        self.recording = recording
        self.start = start
        self.region = region
    }
}

/// How much of a split's intervals the windows cover (issue 14: say what was used).
public struct SplitCoverage: Sendable, Equatable {
    /// Intervals and seconds in the split.
    public var intervals = 0
    public var seconds = 0.0
    /// Intervals shorter than the window that get a window around them.
    public var short = 0
    public var shortSeconds = 0.0
    /// Intervals no window can hold: shorter than the window and at the edge of (or in a piece of)
    /// the recorded domain shorter than the window.
    public var skipped = 0
    public var skippedSeconds = 0.0
    /// Intervals shorter than the window left out by `short_intervals: skip` (torch_brain's rule).
    public var shortSkipped = 0
    public var shortSkippedSeconds = 0.0

    public init() {}

    public var usedIntervals: Int { intervals - skipped - shortSkipped }
    public var usedSeconds: Double { seconds - skippedSeconds - shortSkippedSeconds }

    /// How a sampler uses one interval.
    enum Use {
        /// At least a window long: windows inside it.
        case inside
        /// Shorter: one window around it.
        case around
        /// Shorter, and no window around it fits inside the recorded domain.
        case unusable
        /// Shorter, and left out by `short_intervals: skip`.
        case skippedByRule
    }

    mutating func add(_ iv: Interval, _ use: Use) {
        intervals += 1
        seconds += iv.length
        switch use {
        case .inside: break
        case .around:
            short += 1
            shortSeconds += iv.length
        case .unusable:
            skipped += 1
            skippedSeconds += iv.length
        case .skippedByRule:
            shortSkipped += 1
            shortSkippedSeconds += iv.length
        }
    }

    public static func + (a: SplitCoverage, b: SplitCoverage) -> SplitCoverage {
        var c = a
        c.intervals += b.intervals
        c.seconds += b.seconds
        c.short += b.short
        c.shortSeconds += b.shortSeconds
        c.skipped += b.skipped
        c.skippedSeconds += b.skippedSeconds
        c.shortSkipped += b.shortSkipped
        c.shortSkippedSeconds += b.shortSkippedSeconds
        return c
    }

    /// `41 intervals, 612.3 s: all used (5 shorter than the 1 s window, 3.7 s, in windows around them:
    /// short_intervals: around)`; the rule is named only when an interval is shorter than the window.
    public func describe(window: Double) -> String {
        let w = String(format: "%g", window)
        var s = "\(intervals) interval(s), \(fmt(seconds)) s: "
        s += usedIntervals == intervals ? "all used" : "\(usedIntervals) used (\(fmt(usedSeconds)) s)"
        if short > 0 {
            s +=
                " (\(short) shorter than the \(w) s window, \(fmt(shortSeconds)) s,"
                + " in windows around them: short_intervals: around)"
        }
        if shortSkipped > 0 {
            s +=
                "; \(shortSkipped) shorter than the \(w) s window skipped (\(fmt(shortSkippedSeconds)) s:"
                + " short_intervals: skip, as torch_brain)"
        }
        if skipped > 0 { s += "; \(skipped) skipped (\(fmt(skippedSeconds)) s)" }
        return s
    }

    private func fmt(_ x: Double) -> String { String(format: "%.1f", x) }

    /// The lines to print for a split (`train: …`): its coverage over all sessions, then a line
    /// starting `warning:` per session that has intervals no window can hold.
    public static func report(split: String, coverage: [SplitCoverage], sessions: [String], window: Double)
        -> [String]
    {
        let total = coverage.reduce(SplitCoverage(), +)
        var lines = ["\(split): " + total.describe(window: window)]
        for (c, session) in zip(coverage, sessions) where c.skipped > 0 {
            lines.append(
                "warning: \(split): \(session): \(c.skipped) interval(s), "
                    + String(format: "%.2f s", c.skippedSeconds)
                    + " cannot be used (no \(String(format: "%g", window)) s window fits around them inside the "
                    + "recorded domain)")
        }
        return lines
    }
}

/// Where a window of `length` holding all of `iv` may start: inside the piece of `domain` that
/// contains `iv`, `[lo, hi]`; nil when no such window fits (the piece is shorter than the window,
/// or `iv` is not inside one piece).
func windowStarts(around iv: Interval, length: Double, domain: Intervals) -> (lo: Double, hi: Double)? {
    guard let piece = domain.first(where: { $0.start <= iv.start && iv.end <= $0.end }),
        piece.length >= length
    else { return nil }
    let lo = max(piece.start, iv.end - length)
    let hi = min(piece.end - length, iv.start)
    return lo <= hi ? (lo, hi) : nil
}

/// Training sampler (torch_brain `RandomFixedWindowSampler`, docs/spec.md §4.1).
///
/// For each sampling interval `[s, e)` at least one window long: draw `o ~ U(0, W)`, emit the
/// windows starting at `s+o, s+o+W, …` that fit; if `o` plus the right remainder is ≥ W, add one
/// window flush against the end with the larger gap. The whole list is then shuffled (our own
/// Fisher–Yates on `SeededRNG`, not torch's `randperm` stream).
///
/// Shorter intervals, which torch_brain skips (`short_intervals: skip` does too), get by default
/// one window per epoch placed at random around them inside the recorded domain (`domains`),
/// marked with the interval as its `region`: only the samples inside it carry loss weight. Those
/// placements and their positions in the epoch come from a stream of their own, so a dataset
/// without short intervals gets exactly torch_brain's windows, and the long intervals' windows
/// keep their order when there are some.
public struct RandomFixedWindowSampler: Sendable {
    /// `[recording]` sampling intervals (usually each recording's `trainDomain`).
    public var intervals: [Intervals]
    /// `[recording]` recorded domains, where windows around short intervals may reach; `nil`: none
    /// (short intervals are skipped, as torch_brain does).
    public var domains: [Intervals]?
    public var windowLength: Double
    /// `.skip` leaves short intervals out whatever `domains` allows.
    public var shortIntervals: ShortIntervals

    public init(
        intervals: [Intervals], domains: [Intervals]? = nil, windowLength: Double = 1.0,
        shortIntervals: ShortIntervals = .around
    ) {
        self.intervals = intervals
        self.domains = domains
        self.windowLength = windowLength
        self.shortIntervals = shortIntervals
    }

    /// Windows per epoch: Σ floor(len / W) over intervals at least W long (torch_brain's `len`),
    /// plus one per usable shorter interval under `.around`.
    public var estimatedCount: Int {
        var n = 0
        for (r, set) in intervals.enumerated() {
            for iv in set {
                if iv.length >= windowLength {
                    n += Int((iv.length / windowLength).rounded(.down))
                } else if startsAround(iv, recording: r) != nil {
                    n += 1
                }
            }
        }
        return n
    }

    /// What the windows cover, per recording.
    public var coverage: [SplitCoverage] {
        intervals.enumerated().map { r, set in
            var c = SplitCoverage()
            for iv in set {
                if iv.length >= windowLength {
                    c.add(iv, .inside)
                } else if shortIntervals == .skip {
                    c.add(iv, .skippedByRule)
                } else {
                    c.add(iv, startsAround(iv, recording: r) != nil ? .around : .unusable)
                }
            }
            return c
        }
    }

    private func startsAround(_ iv: Interval, recording r: Int) -> (lo: Double, hi: Double)? {
        guard shortIntervals == .around, let domains, domains.indices.contains(r) else { return nil }
        return windowStarts(around: iv, length: windowLength, domain: domains[r])
    }

    /// The windows of epoch `epoch` for a run seeded with `seed`: any epoch can be regenerated
    /// (for resuming) without replaying the ones before it.
    public func windows(seed: UInt64, epoch: Int) -> [SampledWindow] {
        var rng = SeededRNG(seed: seed).derived(UInt64(truncatingIfNeeded: epoch) &+ 0x5A4D_504C)
        var shortRNG = SeededRNG(seed: seed).derived(UInt64(truncatingIfNeeded: epoch) &+ 0x5348_4F52)
        return windows(rng: &rng, shortRNG: &shortRNG)
    }

    /// One epoch of shuffled windows: long intervals consume `rng` (as torch_brain's rule does),
    /// short ones `shortRNG`.
    public func windows(rng: inout SeededRNG, shortRNG: inout SeededRNG) -> [SampledWindow] {
        let w = windowLength
        var out: [SampledWindow] = []
        var around: [SampledWindow] = []
        out.reserveCapacity(estimatedCount + intervals.count)
        for (r, set) in intervals.enumerated() {
            for iv in set {
                guard iv.length >= w else {
                    if let (lo, hi) = startsAround(iv, recording: r) {
                        around.append(
                            SampledWindow(recording: r, start: lo + shortRNG.uniform() * (hi - lo), region: iv))
                    }
                    continue
                }
                let left = rng.uniform() * w
                let first = iv.start + left
                // torch.arange(first, end, W): ceil((end − first) / W) points, kept if they fit.
                let points = max(0, Int(((iv.end - first) / w).rounded(.up)))
                var lastEnd: Double?
                for k in 0..<points {
                    let t = first + Double(k) * w
                    if t + w <= iv.end {
                        out.append(SampledWindow(recording: r, start: t))
                        lastEnd = t + w
                    }
                }
                let right = lastEnd.map { iv.end - $0 } ?? (iv.end - iv.start - left)
                if right + left >= w {
                    out.append(SampledWindow(recording: r, start: right > left ? iv.end - w : iv.start))
                }
            }
        }
        rng.shuffle(&out)
        // Each window around a short interval goes to a uniformly drawn place in the epoch.
        for window in around { out.insert(window, at: shortRNG.int(below: out.count + 1)) }
        return out
    }
}

/// Evaluation sampler (torch_brain `SequentialFixedWindowSampler`): windows of `windowLength` every
/// `step` inside each interval, plus a final window flush with the interval's end when the last
/// regular one stops short of it.
///
/// An interval shorter than one window gets by default one window centred on it, moved as needed
/// to stay inside the recorded domain (`domains`), with the interval as its `region`: only samples
/// inside it are scored. One that no window can hold (at the edge of the domain, or with no
/// `domains`) is listed in `skipped` for the caller to report. Under `short_intervals: skip` such
/// intervals get no window and are listed in `tooShort`, for the caller to refuse as torch_brain
/// raises on them.
public struct SequentialFixedWindowSampler: Sendable {
    public let windowLength: Double
    public let step: Double
    /// In order: recording by recording, interval by interval, time ascending.
    public let windows: [SampledWindow]
    /// Intervals no window can hold, with their recording index.
    public let skipped: [(recording: Int, interval: Interval)]
    /// Under `.skip`: the intervals shorter than the window, with their recording index.
    public let tooShort: [(recording: Int, interval: Interval)]
    /// What the windows cover, per recording.
    public let coverage: [SplitCoverage]

    public init(
        intervals: [Intervals], domains: [Intervals]? = nil, windowLength: Double = 1.0, step: Double = 0.5,
        shortIntervals: ShortIntervals = .around
    ) {
        self.windowLength = windowLength
        self.step = step
        var out: [SampledWindow] = []
        var skipped: [(recording: Int, interval: Interval)] = []
        var tooShort: [(recording: Int, interval: Interval)] = []
        var coverage: [SplitCoverage] = []
        for (r, set) in intervals.enumerated() {
            var c = SplitCoverage()
            for iv in set {
                guard step > 0 else {
                    skipped.append((r, iv))
                    c.add(iv, .unusable)
                    continue
                }
                guard iv.length >= windowLength else {
                    if shortIntervals == .skip {
                        tooShort.append((r, iv))
                        c.add(iv, .skippedByRule)
                        continue
                    }
                    let domain = domains.flatMap { $0.indices.contains(r) ? $0[r] : nil }
                    guard let domain, let (lo, hi) = windowStarts(around: iv, length: windowLength, domain: domain)
                    else {
                        skipped.append((r, iv))
                        c.add(iv, .unusable)
                        continue
                    }
                    let centred = (iv.start + iv.end - windowLength) / 2
                    out.append(SampledWindow(recording: r, start: min(max(centred, lo), hi), region: iv))
                    c.add(iv, .around)
                    continue
                }
                c.add(iv, .inside)
                let points = Int(((iv.end - iv.start) / step).rounded(.up))
                var lastEnd = -Double.infinity
                for k in 0..<points {
                    let t = iv.start + Double(k) * step
                    if t + windowLength <= iv.end {
                        out.append(SampledWindow(recording: r, start: t))
                        lastEnd = t + windowLength
                    }
                }
                if lastEnd < iv.end { out.append(SampledWindow(recording: r, start: iv.end - windowLength)) }
            }
            coverage.append(c)
        }
        self.windows = out
        self.skipped = skipped
        self.tooShort = tooShort
        self.coverage = coverage
    }
}

extension SequentialFixedWindowSampler {
    /// The error to raise for `tooShort` (nil when it is empty), naming `sessions[recording]`.
    public func tooShortError(split: String, sessions: [String]) -> ShortEvaluationIntervals? {
        guard !tooShort.isEmpty else { return nil }
        var bySession: [(session: String, intervals: [Interval])] = []
        for (r, iv) in tooShort {
            let name = sessions.indices.contains(r) ? sessions[r] : "recording \(r)"
            if bySession.last?.session == name {
                bySession[bySession.count - 1].intervals.append(iv)
            } else {
                bySession.append((name, [iv]))
            }
        }
        return ShortEvaluationIntervals(split: split, window: windowLength, sessions: bySession)
    }
}
