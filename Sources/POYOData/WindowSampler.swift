/// One window to tokenize: a recording (index into the dataset) and an absolute start time (s).
public struct SampledWindow: Hashable, Sendable {
    public var recording: Int
    public var start: Double

    public init(recording: Int, start: Double) {
        self.recording = recording
        self.start = start
    }
}

/// Training sampler (torch_brain `RandomFixedWindowSampler`, POYO-SPEC §4.1).
///
/// For each sampling interval `[s, e)` at least one window long: draw `o ~ U(0, W)`, emit the
/// windows starting at `s+o, s+o+W, …` that fit; if `o` plus the right remainder is ≥ W, add one
/// window flush against the end with the larger gap. Shorter intervals are dropped. The whole
/// list is then shuffled (our own Fisher–Yates on `SeededRNG`, not torch's `randperm` stream).
public struct RandomFixedWindowSampler: Sendable {
    /// `[recording]` sampling intervals (usually each recording's `trainDomain`).
    public var intervals: [Intervals]
    public var windowLength: Double

    public init(intervals: [Intervals], windowLength: Double = 1.0) {
        self.intervals = intervals
        self.windowLength = windowLength
    }

    /// Windows per epoch: Σ floor(len / W) over intervals at least W long (torch_brain's `len`).
    public var estimatedCount: Int {
        intervals.reduce(0) { acc, set in
            acc
                + set.reduce(0) {
                    $0 + ($1.length >= windowLength ? Int(($1.length / windowLength).rounded(.down)) : 0)
                }
        }
    }

    /// The windows of epoch `epoch` for a run seeded with `seed`: any epoch can be regenerated
    /// (for resuming) without replaying the ones before it.
    public func windows(seed: UInt64, epoch: Int) -> [SampledWindow] {
        var rng = SeededRNG(seed: seed).derived(UInt64(truncatingIfNeeded: epoch) &+ 0x5A4D_504C)
        return windows(rng: &rng)
    }

    /// One epoch of shuffled windows, consuming `rng`.
    public func windows(rng: inout SeededRNG) -> [SampledWindow] {
        let w = windowLength
        var out: [SampledWindow] = []
        out.reserveCapacity(estimatedCount + intervals.count)
        for (r, set) in intervals.enumerated() {
            for iv in set where iv.length >= w {
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
        return out
    }
}

/// Evaluation sampler (torch_brain `SequentialFixedWindowSampler`): windows of `windowLength` every
/// `step` inside each interval, plus a final window flush with the interval's end when the last
/// regular one stops short of it.
///
/// Unlike torch_brain (which raises), intervals shorter than one window are skipped and listed in
/// `skipped`, so a stray short trial does not stop an evaluation; callers may report them.
public struct SequentialFixedWindowSampler: Sendable {
    public let windowLength: Double
    public let step: Double
    /// In order: recording by recording, interval by interval, time ascending.
    public let windows: [SampledWindow]
    /// Intervals shorter than `windowLength`, with their recording index.
    public let skipped: [(recording: Int, interval: Interval)]

    public init(intervals: [Intervals], windowLength: Double = 1.0, step: Double = 0.5) {
        self.windowLength = windowLength
        self.step = step
        var out: [SampledWindow] = []
        var skipped: [(recording: Int, interval: Interval)] = []
        for (r, set) in intervals.enumerated() {
            for iv in set {
                guard iv.length >= windowLength, step > 0 else {
                    skipped.append((r, iv))
                    continue
                }
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
        }
        self.windows = out
        self.skipped = skipped
    }
}
