import Foundation

/// A few-shot training subset of a recording: some of its training trials (those inside its
/// `trainDomain`), chosen by a seeded shuffle. Validation and test stay whole.
public enum FewShot: Sendable, Equatable {
    /// This many training trials.
    case trials(Int)
    /// This fraction of the training trials (rounded, at least one).
    case fraction(Double)

    public var description: String {
        switch self {
        case .trials(let n): return "\(n) training trials"
        case .fraction(let f): return "\(f * 100)% of the training trials"
        }
    }
}

extension Recording {
    /// The trials that overlap the training domain (a trial next to a valid or test trial is clipped
    /// by the split's 1 s margin but still trains).
    public var trainingTrials: [Interval] {
        trials.items.filter { t in
            trainDomain.items.contains { min($0.end, t.end) - max($0.start, t.start) > 1e-9 }
        }
    }

    /// This recording with its training domain shrunk to `choice` of its training trials: the kept
    /// trials dilated by 1 s (the split's margin, so the time around a kept trial trains with it), within
    /// the training domain (never reaching valid or test time).
    public func keepingTrainingTrials(_ choice: FewShot, seed: UInt64) throws -> (
        recording: Recording, kept: Int, available: Int
    ) {
        let all = trainingTrials
        guard !all.isEmpty else {
            throw DataError.invalid(
                file: sessionID, field: "trials", reason: "no training trials to take a few-shot subset of")
        }
        let count: Int
        switch choice {
        case .trials(let n):
            guard n >= 1 else {
                throw DataError.invalid(file: sessionID, field: "trials", reason: "asked for \(n) trials")
            }
            guard n <= all.count else {
                throw DataError.invalid(
                    file: sessionID, field: "trials", reason: "asked for \(n) training trials; it has \(all.count)")
            }
            count = n
        case .fraction(let f):
            guard f > 0 && f <= 1 else {
                throw DataError.invalid(
                    file: sessionID, field: "trials", reason: "a training fraction must be in (0, 1], got \(f)")
            }
            count = max(1, Int((f * Double(all.count)).rounded()))
        }
        var order = Array(all.indices)
        var rng = SeededRNG(seed: seed).derived(0xF3_5407)
        rng.shuffle(&order)
        let kept = Intervals(order[..<count].map { all[$0] }).dilated(by: 1.0)
        var r = self
        r.trainDomain = trainDomain.subtracting(trainDomain.subtracting(kept))  // trainDomain ∩ kept
        return (r, count, all.count)
    }
}

/// How many training trials a few-shot subset kept, of how many.
public struct FewShotCount: Sendable, Equatable {
    public var kept: Int
    public var available: Int

    public init(kept: Int, available: Int) {
        self.kept = kept
        self.available = available
    }

    /// E.g. `5 of 105 training trials`.
    public var description: String { "\(kept) of \(available) training trials" }
}

extension Array where Element == Recording {
    /// Every recording's few-shot subset (the same seed for each), with one line per recording for
    /// `note` saying what it kept.
    public func keepingTrainingTrials(_ choice: FewShot, seed: UInt64, note: (String) -> Void) throws -> [Recording] {
        try fewShotSubsets(choice, seed: seed, note: note).map(\.recording)
    }

    /// The same, with each subset's trial count (for those who report it, e.g. the Wiener baseline).
    public func fewShotSubsets(_ choice: FewShot, seed: UInt64, note: (String) -> Void) throws -> [(
        recording: Recording, count: FewShotCount
    )] {
        try map { r in
            let (subset, kept, available) = try r.keepingTrainingTrials(choice, seed: seed)
            note(
                String(
                    format: "few-shot: %@ trains on %ld of %ld training trials (%.1f of %.1f s of training domain)",
                    r.sessionID, kept, available, subset.trainDomain.totalLength, r.trainDomain.totalLength))
            return (subset, FewShotCount(kept: kept, available: available))
        }
    }
}
