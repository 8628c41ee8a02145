import Foundation
import POYOData

/// What a live decoder gets (`poyo eval --causal`): every scored sample of a split predicted from
/// the window that ends at it, `[τ − 1 s, τ)`, through `StreamingDecoder` (spikes pushed in time
/// order, one update per sample), not from stitched windows that also see up to a second after it.
public enum CausalEvaluation {
    public struct Result: Sendable {
        /// R² per session, over its scored samples in the split.
        public var r2: [String: Double]
        public var mean: Double
        public var samples: [String: Int]
        public var seconds: Double
    }

    /// The causal R² of `model` on `recordings` (sessions it knows) over `split`.
    public static func evaluate(model: POYOModel, recordings: [Recording], split: Split) throws -> Result {
        let t0 = Date()
        var r2: [String: Double] = [:]
        var counts: [String: Int] = [:]
        for r in recordings {
            let decoder = try StreamingDecoder(model: model, sessionID: r.sessionID)
            let units = try r.unitIDs.map { id -> Int in
                guard let u = decoder.unit(id) else {
                    throw POYOError.streaming("unit \(id) of \(r.sessionID) is not in the checkpoint")
                }
                return u
            }
            let all = try r.materialized()
            let spikes = (times: all.spikeTimes, units: all.spikeUnit)
            let (targets, _, scored) = Tokenizer.sampleTables(r)
            let domain = split.domain(r)
            let d = r.behaviourDim
            var predictions: [Double] = []
            var truth: [Double] = []
            var next = 0
            for (i, tau) in r.behaviourTimes.enumerated() where scored[i] && domain.contains(tau) {
                while next < spikes.times.count && spikes.times[next] < tau {
                    try decoder.push(unit: units[Int(spikes.units[next])], time: spikes.times[next])
                    next += 1
                }
                let p = try decoder.decode(at: tau)
                for k in 0..<d {
                    predictions.append(Double(p[k]))
                    truth.append(Double(targets[i * d + k]))
                }
            }
            counts[r.sessionID] = truth.count / max(d, 1)
            if !truth.isEmpty { r2[r.sessionID] = r2Score(predictions: predictions, targets: truth, dim: d) }
        }
        let values = r2.values.filter(\.isFinite)
        return Result(
            r2: r2, mean: values.isEmpty ? .nan : values.reduce(0, +) / Double(values.count), samples: counts,
            seconds: Date().timeIntervalSince(t0))
    }
}
