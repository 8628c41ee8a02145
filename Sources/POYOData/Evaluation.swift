/// Collects predictions over overlapping evaluation windows and averages those that share an
/// `EvalKey` (same recording and behaviour sample), as torch_brain's `stitch` does by timestamp.
public struct Stitcher: Sendable {
    public let dim: Int
    /// Row of each key in the sums below.
    private var rowOf: [EvalKey: Int] = [:]
    private var keys: [EvalKey] = []
    /// `[rows, dim]` running sums and `[rows]` counts.
    private var predictionSum: [Double] = []
    private var targetSum: [Double] = []
    private var count: [Int] = []

    public init(dim: Int = 2) { self.dim = dim }

    /// Adds one batch: `predictions` and `targets` are `[N, dim]`, `keys` is `[N]`.
    public mutating func add(keys batchKeys: [EvalKey], predictions: [Float], targets: [Float]) throws {
        guard predictions.count == batchKeys.count * dim, targets.count == batchKeys.count * dim else {
            throw EvaluationError.shapeMismatch(
                keys: batchKeys.count, predictions: predictions.count,
                targets: targets.count, dim: dim)
        }
        for (n, key) in batchKeys.enumerated() {
            let row: Int
            if let existing = rowOf[key] {
                row = existing
            } else {
                row = keys.count
                rowOf[key] = row
                keys.append(key)
                predictionSum.append(contentsOf: repeatElement(0, count: dim))
                targetSum.append(contentsOf: repeatElement(0, count: dim))
                count.append(0)
            }
            for k in 0..<dim {
                predictionSum[row * dim + k] += Double(predictions[n * dim + k])
                targetSum[row * dim + k] += Double(targets[n * dim + k])
            }
            count[row] += 1
        }
    }

    /// Number of distinct samples seen.
    public var sampleCount: Int { keys.count }

    /// The averaged scored samples of `recording`, sorted by sample index: `[n, dim]` each.
    public func stitched(recording: Int32) -> (predictions: [Double], targets: [Double]) {
        var rows = keys.indices.filter { keys[$0].recording == recording && keys[$0].scored }
        rows.sort { keys[$0].sample < keys[$1].sample }
        var p: [Double] = []
        var t: [Double] = []
        p.reserveCapacity(rows.count * dim)
        t.reserveCapacity(rows.count * dim)
        for row in rows {
            let c = Double(count[row])
            for k in 0..<dim {
                p.append(predictionSum[row * dim + k] / c)
                t.append(targetSum[row * dim + k] / c)
            }
        }
        return (p, t)
    }

    /// Number of scored samples of `recording`.
    public func scoredCount(recording: Int32) -> Int {
        keys.lazy.filter { $0.recording == recording && $0.scored }.count
    }

    /// Every stitched sample of `recording` (scored or not), sorted by sample index.
    public func samples(recording: Int32) -> [StitchedSample] {
        var rows = keys.indices.filter { keys[$0].recording == recording }
        rows.sort { keys[$0].sample < keys[$1].sample }
        return rows.map { row in
            let c = Double(count[row])
            return StitchedSample(
                sample: Int(keys[row].sample), scored: keys[row].scored,
                prediction: (0..<dim).map { predictionSum[row * dim + $0] / c },
                target: (0..<dim).map { targetSum[row * dim + $0] / c })
        }
    }

    /// R² per recording over its scored samples, and their mean (docs/spec.md §5).
    ///
    /// Recordings with no scored sample are left out; `mean` is NaN when none remains.
    public func r2() -> R2Report {
        var per: [Int: Double] = [:]
        for r in Set(keys.lazy.filter(\.scored).map(\.recording)) {
            let (p, t) = stitched(recording: r)
            per[Int(r)] = r2Score(predictions: p, targets: t, dim: dim)
        }
        let mean = per.isEmpty ? Double.nan : per.values.reduce(0, +) / Double(per.count)
        return R2Report(perRecording: per, mean: mean)
    }
}

/// One behaviour sample after stitching: the averaged prediction and its target, `[dim]` each.
public struct StitchedSample: Sendable, Equatable {
    public var sample: Int
    public var scored: Bool
    public var prediction: [Double]
    public var target: [Double]
}

public struct R2Report: Sendable, Equatable {
    /// Recording index → R² (mean over output dimensions).
    public var perRecording: [Int: Double]
    /// Mean over recordings (NaN if there are none).
    public var mean: Double

    /// The same numbers keyed by session id (`sessionIDs[recording]`).
    public func bySession(_ sessionIDs: [String]) -> [String: Double] {
        var out: [String: Double] = [:]
        for (r, v) in perRecording where sessionIDs.indices.contains(r) { out[sessionIDs[r]] = v }
        return out
    }
}

public enum EvaluationError: Error, CustomStringConvertible, Equatable {
    case shapeMismatch(keys: Int, predictions: Int, targets: Int, dim: Int)

    public var description: String {
        switch self {
        case .shapeMismatch(let k, let p, let t, let d):
            return "stitcher: \(k) keys need \(k * d) predictions and targets, got \(p) and \(t)"
        }
    }
}

/// Coefficient of determination, uniformly averaged over output dimensions (torchmetrics
/// `r2_score`): per dim `1 − Σ(y − ŷ)² / Σ(y − ȳ)²` over `[n, dim]` rows.
///
/// A dimension with constant targets (`SS_tot = 0`) scores 1 if predicted exactly, else 0
/// (sklearn's convention). No rows gives NaN.
public func r2Score(predictions: [Double], targets: [Double], dim: Int) -> Double {
    guard dim > 0, targets.count == predictions.count, targets.count >= dim else { return .nan }
    let n = targets.count / dim
    var total = 0.0
    for k in 0..<dim {
        var mean = 0.0
        for i in 0..<n { mean += targets[i * dim + k] }
        mean /= Double(n)
        var ssRes = 0.0
        var ssTot = 0.0
        for i in 0..<n {
            let y = targets[i * dim + k]
            ssRes += (y - predictions[i * dim + k]) * (y - predictions[i * dim + k])
            ssTot += (y - mean) * (y - mean)
        }
        total += ssTot > 0 ? 1 - ssRes / ssTot : (ssRes == 0 ? 1 : 0)
    }
    return total / Double(dim)
}
