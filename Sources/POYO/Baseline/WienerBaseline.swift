import Compute
import Foundation
import POYOData

/// `poyo baseline`: a Wiener filter per session, fitted on its training domain (or a few-shot
/// subset), λ chosen on the validation split when asked, scored through `Evaluator` on the same
/// windows, eval mask and split as `poyo eval`.
public enum WienerBaseline {
    public struct Options: Sendable {
        public var bin = 0.02
        public var lags = 7
        /// nil: choose per session from `WienerFilter.ridgeGrid` by validation R².
        public var ridge: Double?
        public var fewShot: FewShot?
        public var seed: UInt64 = 42
        public var split: Split = .test
        /// The evaluation windows' rule, as for the model it is compared with.
        public var shortIntervals: ShortIntervals = .around
        public init() {}
    }

    public struct Result: Sendable {
        public var r2: [String: Double]
        public var mean: Double
        /// Session → (relative λ, training samples).
        public var ridge: [String: Double]
        public var trainingSamples: [String: Int]
        public var seconds: Double
    }

    public static func run(_ recordings: [Recording], options o: Options, note: (String) -> Void = { _ in }) throws
        -> Result
    {
        let t0 = Date()
        guard !recordings.isEmpty else { throw POYOError.batch("no recordings for the baseline") }
        var recs = recordings
        if let fewShot = o.fewShot {
            recs = try recs.keepingTrainingTrials(fewShot, seed: RunSeeds(root: o.seed).fewShot, note: note)
        }
        let data = try Dataset(recordings: recs)
        let tokenizer = try Tokenizer(
            recordings: recs, unitVocabulary: data.unitVocabulary, sessionVocabulary: data.sessionVocabulary,
            config: TokenizerConfig())
        // Per session: spike counts on the grid, and the normal equations of its training design,
        // formed once whatever λ is tried.
        var counts: [WienerFilter.Counts] = []
        var normal: [WienerFilter.NormalEquations] = []
        var samples: [Int] = []
        for r in recs {
            let f = WienerFilter(units: r.unitCount, dim: r.behaviourDim, bin: o.bin, lags: o.lags)
            let c = try f.counts(r)
            counts.append(c)
            let d = f.design(r, counts: c, domain: r.trainDomain)
            do {
                normal.append(try f.normalEquations(x: d.x, y: d.y, n: d.n))
            } catch let e as POYOError {
                throw POYOError.batch("\(r.sessionID): \(e)")
            }
            samples.append(d.n)
        }
        func filters(_ ridge: (Int) -> Double) throws -> [WienerFilter] {
            try recs.indices.map { i in
                var f = WienerFilter(
                    units: recs[i].unitCount, dim: recs[i].behaviourDim, bin: o.bin, lags: o.lags, ridge: ridge(i))
                do {
                    try f.fit(normal[i])
                } catch {
                    throw POYOError.batch("\(recs[i].sessionID): \(error)")
                }
                return f
            }
        }
        func score(_ fs: [WienerFilter], _ split: Split) throws -> EvaluationResult {
            try Evaluator.evaluate(tokenizer: tokenizer, split: split, batchSize: 64, shortIntervals: o.shortIntervals)
            {
                batch in
                var out: [Float] = []
                out.reserveCapacity(batch.outputCount * batch.dimOut)
                for key in batch.evalKeys {
                    let r = Int(key.recording)
                    let t = recs[r].behaviourTimes[Int(key.sample)]
                    out += fs[r].predict(counts[r], times: [t])
                }
                return out
            }
        }
        var chosen = [Double](repeating: o.ridge ?? 0, count: recs.count)
        if o.ridge == nil {
            var best = [Double](repeating: -.infinity, count: recs.count)
            for lambda in WienerFilter.ridgeGrid {
                let v = try score(try filters { _ in lambda }, .valid)
                for (i, r) in recs.enumerated() {
                    if let r2 = v.r2[r.sessionID], r2 > best[i] {
                        best[i] = r2
                        chosen[i] = lambda
                    }
                }
            }
        }
        let final = try score(try filters { chosen[$0] }, o.split)
        return Result(
            r2: final.r2, mean: final.mean,
            ridge: Dictionary(uniqueKeysWithValues: recs.indices.map { (recs[$0].sessionID, chosen[$0]) }),
            trainingSamples: Dictionary(uniqueKeysWithValues: recs.indices.map { (recs[$0].sessionID, samples[$0]) }),
            seconds: Date().timeIntervalSince(t0))
    }
}
