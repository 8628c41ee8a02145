import POYOData

/// Where the Wiener filter's history, horizon and λ are chosen: always inside the data it may
/// learn from, never on the split it is scored on.
///
/// - scored split `test`: fit on the training domain, score on the `valid` split;
/// - scored split `valid`: k-fold cross-validation over the training domain. The folds are
///   contiguous runs of its trials (fold j runs from the first trial of group j to the first of
///   group j+1, so together the folds cover the whole domain), or, with fewer trials than folds,
///   contiguous blocks of equal length of the domain's time.
public struct WienerSelectionPlan: Sendable, Equatable {
    public enum Method: Sendable, Equatable {
        case validation
        case trialFolds(k: Int, trials: Int)
        case timeBlocks(k: Int, trials: Int)
        /// Nothing to choose (every value given).
        case none
    }

    /// One round: fit on every block but `leaveOut` (nil: all of them), score on `heldOut`.
    public struct Round: Sendable, Equatable {
        public var leaveOut: Int?
        public var heldOut: Intervals
    }

    public let method: Method
    /// The fit domain in parts (the folds; the whole domain when validating on another split).
    public let blocks: [Intervals]
    public let rounds: [Round]

    /// The time the selection scores on, round by round.
    public var scoredDomains: [Intervals] { rounds.map(\.heldOut) }

    /// E.g. `valid`, `5-fold over 105 training trials`.
    public var description: String {
        switch method {
        case .validation: return "valid"
        case .trialFolds(let k, let n): return "\(k)-fold over \(n) training trials"
        case .timeBlocks(let k, let n):
            return "\(k)-fold over time blocks of the training domain (\(n) training trial\(n == 1 ? "" : "s"))"
        case .none: return "none (all values given)"
        }
    }

    /// Fit on `fit`, choose on `valid`.
    public static func validation(fit: Intervals, valid: Intervals) -> WienerSelectionPlan {
        WienerSelectionPlan(method: .validation, blocks: [fit], rounds: [Round(leaveOut: nil, heldOut: valid)])
    }

    /// Nothing to choose: the whole fit domain, no rounds.
    public static func fixed(fit: Intervals) -> WienerSelectionPlan {
        WienerSelectionPlan(method: .none, blocks: [fit], rounds: [])
    }

    /// `k` contiguous folds of `fit`, by `trials` when there are at least `k` of them.
    public static func crossValidation(fit: Intervals, trials: [Interval], folds k: Int) -> WienerSelectionPlan {
        let domain = fit.merged()
        // A trial counts when at least half of it lies in the fit domain: a few-shot subset's
        // neighbours, reached only by its 1 s margin, do not.
        let inside = trials.filter { t in
            let overlap = intersection(domain, Intervals([t])).totalLength
            return t.length > 0 && overlap >= 0.5 * t.length
        }.sorted { $0.start < $1.start }
        var cuts: [Double] = []
        let method: Method
        if inside.count >= k {
            // Groups of ⌊n/k⌋ or ⌈n/k⌉ trials; a fold starts where its group's first trial starts.
            cuts = (1..<k).map { inside[$0 * inside.count / k].start }
            method = .trialFolds(k: k, trials: inside.count)
        } else {
            cuts = (1..<k).compactMap { time(at: domain.totalLength * Double($0) / Double(k), in: domain) }
            method = .timeBlocks(k: k, trials: inside.count)
        }
        let edges = [-Double.infinity] + cuts + [Double.infinity]
        let blocks = (0..<k).map { intersection(domain, Intervals([Interval(edges[$0], edges[$0 + 1])])) }
        let rounds = blocks.indices.map { Round(leaveOut: $0, heldOut: blocks[$0]) }
        return WienerSelectionPlan(method: method, blocks: blocks, rounds: rounds)
    }

    /// The time at which `length` seconds of `domain` (sorted, disjoint) have passed.
    static func time(at length: Double, in domain: Intervals) -> Double? {
        var left = length
        for iv in domain {
            if left <= iv.length { return iv.start + left }
            left -= iv.length
        }
        return domain.items.last?.end
    }

    static func intersection(_ a: Intervals, _ b: Intervals) -> Intervals { a.subtracting(a.subtracting(b)) }
}
