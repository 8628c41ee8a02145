import Foundation
import POYOData

/// Random packed batches with realistic sizes, for benchmarks and tests that need no recording.
public enum SyntheticBatch {
    /// `windows` windows, each with `units` units (START/END tokens) and ~`spikesPerWindow` spikes,
    /// `outputsPerWindow` queries at 100 Hz; ids drawn from the vocab sizes.
    public static func make(
        config c: POYOConfig, windows: Int, units: Int, spikesPerWindow: Int, outputsPerWindow: Int,
        unitVocabSize: Int, sessionVocabSize: Int, seed: UInt64
    ) -> Batch {
        var rng = SeededRNG(seed: seed)
        var uid: [Int32] = []
        var type: [Int32] = []
        var times: [Double] = []
        var inOff: [Int32] = [0]
        var outTimes: [Double] = []
        var outOff: [Int32] = [0]
        var sessions: [Int32] = []
        for _ in 0..<windows {
            let first = 1 + Int(rng.uniform() * Double(max(1, unitVocabSize - units)))
            for u in 0..<units {
                let id = Int32(min(unitVocabSize - 1, first + u))
                uid += [id, id]
                type += [1, 2]
                times += [0, c.sequenceLength]
            }
            let spikes = (0..<spikesPerWindow).map { _ in rng.uniform() * c.sequenceLength }.sorted()
            for t in spikes {
                uid.append(Int32(min(unitVocabSize - 1, first + Int(rng.uniform() * Double(units)))))
                type.append(0)
                times.append(t)
            }
            inOff.append(Int32(uid.count))
            let phase = rng.uniform() * 0.01
            for k in 0..<outputsPerWindow {
                outTimes.append(phase + Double(k) * c.sequenceLength / Double(outputsPerWindow))
            }
            outOff.append(Int32(outTimes.count))
            sessions.append(Int32(1 + Int(rng.uniform() * Double(sessionVocabSize - 1))))
        }
        let steps = c.latentSteps
        let L = c.numLatentsPerStep
        let latentIndex = (0..<steps * L).map { Int32($0 % L) }
        let latentTimes = (0..<steps * L).map { (Double($0 / L) + 0.5) * c.latentStep }
        let n = outTimes.count
        return Batch(
            windowCount: windows, inputUnitIndex: uid, inputTokenType: type, inputTimestamps: times,
            inputOffsets: inOff, latentIndex: latentIndex, latentTimestamps: latentTimes,
            outputTimestamps: outTimes, outputOffsets: outOff, sessionIndex: sessions,
            targets: (0..<n * c.dimOut).map { _ in Float(rng.normal()) }, weights: [Float](repeating: 1, count: n),
            dimOut: c.dimOut)
    }
}
