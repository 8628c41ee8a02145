/// What the samplers do with an interval shorter than the window (config key `short_intervals`).
///
/// torch_brain's training sampler skips such intervals and its evaluation sampler raises on them;
/// many tasks have trials under 1 s, so by default we use them through windows placed around them
/// instead, and `skip` is there to reproduce torch_brain exactly.
public enum ShortIntervals: String, Sendable, CaseIterable, Codable {
    /// One window around the interval (training: at random, evaluation: centred), only the
    /// interval's samples weighted or scored (docs/training.md).
    case around
    /// As torch_brain 0.2.1: training skips the interval, evaluation refuses it.
    case skip

    /// The value of a config's `short_intervals:` entry; nil when it is neither name.
    public init?(configValue: Any) {
        guard let s = configValue as? String, let rule = ShortIntervals(rawValue: s.lowercased()) else { return nil }
        self = rule
    }
}

/// Evaluation intervals shorter than the window under `short_intervals: skip`, where torch_brain's
/// `SequentialFixedWindowSampler` raises: the message names each session and each interval.
public struct ShortEvaluationIntervals: Error, CustomStringConvertible, Sendable {
    public var split: String
    public var window: Double
    /// Session id and its too-short intervals, in recording order.
    public var sessions: [(session: String, intervals: [Interval])]

    /// At most this many intervals are listed per session; the rest are counted.
    public static let listed = 5

    public init(split: String, window: Double, sessions: [(session: String, intervals: [Interval])]) {
        self.split = split
        self.window = window
        self.sessions = sessions
    }

    /// `synth_x: valid interval [12.30, 13.10) is 0.800 s, shorter than the 1 s window (short_intervals: skip,
    /// as torch_brain; …)`, one line per session; several intervals are listed after a count. Lengths get
    /// three decimals so that one just under the window never reads as `1.00 s`.
    public var description: String {
        let w = String(format: "%g", window)
        let rule = "(short_intervals: skip, as torch_brain; short_intervals: around scores them)"
        let lines = sessions.map { entry -> String in
            let shown = entry.intervals.prefix(Self.listed).map {
                String(format: "[%.2f, %.2f) %.3f s", $0.start, $0.end, $0.length)
            }
            let more = entry.intervals.count > Self.listed ? ", and \(entry.intervals.count - Self.listed) more" : ""
            if entry.intervals.count == 1, let iv = entry.intervals.first {
                return String(
                    format: "%@: %@ interval [%.2f, %.2f) is %.3f s, shorter than the %@ s window %@",
                    entry.session, split, iv.start, iv.end, iv.length, w, rule)
            }
            return "\(entry.session): \(entry.intervals.count) \(split) intervals shorter than the \(w) s window: "
                + shown.joined(separator: ", ") + more + " " + rule
        }
        return lines.joined(separator: "\n")
    }
}
