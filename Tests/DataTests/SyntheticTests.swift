import Foundation
import TestSupport
import Testing

@testable import POYOData

@Suite struct SyntheticTests {
    @Test func sameSeedSameBytesDifferentSeedDiffers() throws {
        let dir = try makeTempDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let config = smallSyntheticConfig(trials: 5)
        let a = try SyntheticDataset.write(
            to: dir.appendingPathComponent("a"), sessions: 1, heldOut: 1, seed: 7, config: config)
        let b = try SyntheticDataset.write(
            to: dir.appendingPathComponent("b"), sessions: 1, heldOut: 1, seed: 7, config: config)
        let c = try SyntheticDataset.write(
            to: dir.appendingPathComponent("c"), sessions: 1, heldOut: 1, seed: 8, config: config)
        #expect(a.map(\.lastPathComponent) == ["synth_s00_center_out.h5", "synth_s01_center_out.h5"])
        for i in a.indices {
            #expect(try Data(contentsOf: a[i]) == Data(contentsOf: b[i]))
            #expect(try Data(contentsOf: a[i]) != Data(contentsOf: c[i]))
        }
    }

    /// The written file's movement_phases group carries its own domain (temporaldata needs it), and
    /// reading it back gives the phases, not a phase named "domain".
    @Test func movementPhasesRoundTripWithTheirDomain() throws {
        let dir = try makeTempDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let files = try SyntheticDataset.write(
            to: dir, sessions: 1, heldOut: 0, seed: 7, config: smallSyntheticConfig(trials: 5))
        let generated = SyntheticDataset.generate(
            sessions: 1, heldOut: 0, seed: 7, config: smallSyntheticConfig(trials: 5))
        let r = try RecordingReader.read(files[0])
        #expect(Set(r.movementPhases.keys) == Set(generated[0].movementPhases.keys))
        #expect(r.movementPhases["domain"] == nil)
        let f = try HDF5File(readingAt: files[0].path)
        #expect(f.exists("movement_phases/domain/start") && f.exists("movement_phases/domain/end"))
    }

    @Test func sessionsDifferAndOneIsHeldOut() {
        let rs = SyntheticDataset.generate(sessions: 2, heldOut: 1, seed: 1, config: smallSyntheticConfig(trials: 4))
        #expect(rs.map(\.heldOut) == [false, false, true])
        #expect(rs.map(\.subjectID) == ["synth_monkey_c", "synth_monkey_m", "synth_monkey_t"])
        #expect(rs[0].spikeTimes != rs[1].spikeTimes)
        #expect(Set(rs.flatMap(\.unitIDs)).count == rs.reduce(0) { $0 + $1.unitCount })
        for r in rs { #expect(r.unitIDs.allSatisfy { $0.hasPrefix(r.sessionID + "/") }) }
    }

    @Test func structureIsConsistent() throws {
        let config = smallSyntheticConfig(trials: 20)
        let r = SyntheticDataset.generate(sessions: 1, heldOut: 0, seed: 11, config: config)[0]
        try r.validate(file: "synthetic")
        #expect(config.unitRange.contains(r.unitCount))
        #expect(r.trials.count == 20)
        #expect(r.validDomain.count == 2 && r.testDomain.count == 4)
        // Valid and test are trials; training avoids them by a 1 s margin.
        let heldTrials = r.validDomain.union(r.testDomain)
        #expect(heldTrials.count == 6)
        for iv in r.trainDomain {
            for h in heldTrials { #expect(iv.end <= h.start - 1 + 1e-9 || iv.start >= h.end + 1 - 1e-9) }
        }
        // Behaviour at 100 Hz, velocities of tens of cm/s during reaches, near rest while holding.
        #expect(abs(r.behaviourTimes[1] - 0.01) < 1e-12)
        var peak: Float = 0
        var holdMax: Float = 0
        for i in 0..<r.sampleCount {
            let s = (r.behaviour[2 * i] * r.behaviour[2 * i] + r.behaviour[2 * i + 1] * r.behaviour[2 * i + 1])
                .squareRoot()
            if r.movementPhases["reach_period"]!.contains(r.behaviourTimes[i]) { peak = max(peak, s) }
            if r.movementPhases["hold_period"]!.contains(r.behaviourTimes[i]) { holdMax = max(holdMax, s) }
        }
        #expect(peak > 20 && peak < 60)
        #expect(holdMax < 6)
        // Mean rate around 10 Hz per unit.
        let rate = Double(r.spikeCount) / (r.domain.totalLength * Double(r.unitCount))
        #expect(rate > 6 && rate < 16)
        #expect(r.evalIntervals == r.movementPhases["reach_period"])
        #expect(r.lossWeights.map(\.weight) == [0.1, 5, 1])
    }

    /// Learnability floor: a ridge decoder on each unit's spike count 50–150 ms before a sample
    /// (units lead movement by 100 ms) predicts reach velocity of unseen trials well.
    @Test func spikesCarryVelocityInformation() {
        let r = SyntheticDataset.generate(sessions: 1, heldOut: 0, seed: 5, config: smallSyntheticConfig(trials: 40))[0]
        let u = r.unitCount
        let f = u + 1
        let split = r.trials[28].start
        let reach = r.movementPhases["reach_period"]!
        var xtx = [Double](repeating: 0, count: f * f)
        var xty = [Double](repeating: 0, count: f * 2)
        var test: [(x: [Double], y: [Double])] = []
        for i in stride(from: 0, to: r.sampleCount, by: 5) {
            let t = r.behaviourTimes[i]
            var x = [Double](repeating: 0, count: f)
            x[u] = 1
            for s in r.spikeRange(from: t - 0.15, to: t - 0.05) { x[Int(r.spikeUnit[s])] += 1 }
            let y = [Double(r.behaviour[2 * i]) / 20, Double(r.behaviour[2 * i + 1]) / 20]
            if t < split {
                for a in 0..<f where x[a] != 0 {
                    for b in 0..<f { xtx[a * f + b] += x[a] * x[b] }
                    for k in 0..<2 { xty[a * 2 + k] += x[a] * y[k] }
                }
            } else if reach.contains(t) {
                test.append((x, y))
            }
        }
        for a in 0..<f { xtx[a * f + a] += 1 }  // ridge λ = 1
        let w = solveSymmetric(xtx, xty, n: f, columns: 2)
        var predictions: [Double] = []
        var targets: [Double] = []
        for (x, y) in test {
            for k in 0..<2 { predictions.append((0..<f).reduce(0) { $0 + x[$1] * w[$1 * 2 + k] }) }
            targets += y
        }
        let r2 = r2Score(predictions: predictions, targets: targets, dim: 2)
        #expect(r2 > 0.85, "linear decoder R² \(r2)")
    }
}

/// Solves `A X = B` for symmetric positive-definite `A` `[n, n]` and `B` `[n, columns]` (Gaussian
/// elimination without pivoting, fine for a ridge system).
private func solveSymmetric(_ a: [Double], _ b: [Double], n: Int, columns: Int) -> [Double] {
    var a = a
    var b = b
    for p in 0..<n {
        for r in (p + 1)..<n where a[r * n + p] != 0 {
            let m = a[r * n + p] / a[p * n + p]
            for c in p..<n { a[r * n + c] -= m * a[p * n + c] }
            for k in 0..<columns { b[r * columns + k] -= m * b[p * columns + k] }
        }
    }
    var x = [Double](repeating: 0, count: n * columns)
    for p in stride(from: n - 1, through: 0, by: -1) {
        for k in 0..<columns {
            var s = b[p * columns + k]
            for c in (p + 1)..<n { s -= a[p * n + c] * x[c * columns + k] }
            x[p * columns + k] = s / a[p * n + p]
        }
    }
    return x
}

/// The corpus options of `poyo synth` (issue 24): session length, varied sessions, parallel writing.
@Suite struct SyntheticScaleTests {
    /// The default dataset is what every documented figure was measured on: it must not move.
    @Test func theDefaultDatasetIsUnchanged() {
        let r = SyntheticDataset.generate(seed: 42)
        #expect(r.map(\.unitCount) == [62, 44, 42, 45, 57])
        #expect(r.map(\.heldOut) == [false, false, false, false, true])
        #expect(r.allSatisfy { $0.domain.ends.last! >= 375 && $0.domain.ends.last! <= 380.1 })
    }

    @Test func minutesSetTheSessionLength() {
        var c = smallSyntheticConfig()
        c.minutes = 2
        for r in SyntheticDataset.generate(sessions: 3, heldOut: 0, seed: 5, config: c) {
            #expect(
                r.domain.ends.last! > 120 - 4.5 && r.domain.ends.last! <= 120, "session of \(r.domain.ends.last!) s")
            #expect(r.trials.count >= 40)
        }
    }

    @Test func variedSessionsDifferAndTheHeldOutOneStaysHeldOut() {
        var c = SyntheticConfig()
        c.minutes = 1
        c.varied = true
        let varied = SyntheticDataset.generate(sessions: 16, heldOut: 1, seed: 9, config: c)
        c.varied = false
        let plain = SyntheticDataset.generate(sessions: 16, heldOut: 1, seed: 9, config: c)
        let units = varied.map(\.unitCount)
        #expect(units.min()! < 40 && units.max()! > 64, "unit counts \(units)")
        let rates = varied.map { Double($0.spikeCount) / $0.domain.ends.last! / Double($0.unitCount) }
        #expect(rates.max()! > 2 * rates.min()!, "mean rates \(rates)")
        #expect(varied.map(\.heldOut) == plain.map(\.heldOut) && varied.last!.heldOut)
        #expect(plain.map(\.unitCount).allSatisfy { (40...64).contains($0) })
    }

    @Test func parallelWritingGivesTheSameFiles() throws {
        let dir = try makeTempDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        var c = smallSyntheticConfig(trials: 4)
        c.varied = true
        let one = try SyntheticDataset.write(
            to: dir.appendingPathComponent("one"), sessions: 5, heldOut: 1, seed: 4, config: c, workers: 1)
        let three = try SyntheticDataset.write(
            to: dir.appendingPathComponent("three"), sessions: 5, heldOut: 1, seed: 4, config: c, workers: 3)
        #expect(one.map(\.lastPathComponent) == three.map(\.lastPathComponent))
        for (a, b) in zip(one, three) { #expect(try Data(contentsOf: a) == Data(contentsOf: b)) }
    }
}
