import AllocationCounter
import Compute
import Foundation
import POYOData
import TestSupport
import Testing

@testable import POYO

/// `StreamingDecoder` against `POYOModel.forward` on the same window (issue 23).
@Suite struct StreamingDecoderTests {
    /// The window `[t − 1, t)` of `r` as `forward` takes it: every unit's START and END, the spikes in
    /// the window (times from its start), the latents, one output query at the window's end.
    static func window(_ r: Recording, _ model: POYOModel, units: [String], at t: Double) -> Batch {
        let c = model.config
        let start = t - c.sequenceLength
        var unitIndex: [Int32] = []
        var types: [Int32] = []
        var times: [Double] = []
        for id in units {
            let row = Int32(model.unitVocab.row(of: id)!)
            unitIndex += [row, row]
            types += [1, 2]
            times += [0, c.sequenceLength]
        }
        for (i, time) in r.spikeTimes.enumerated() where time >= start && time < t {
            unitIndex.append(Int32(model.unitVocab.row(of: r.unitIDs[Int(r.spikeUnit[i])])!))
            types.append(0)
            times.append(time - start)
        }
        let l = c.numLatentsPerStep
        let steps = Int((c.sequenceLength / c.latentStep).rounded(.down))
        return Batch(
            windowCount: 1, inputUnitIndex: unitIndex, inputTokenType: types, inputTimestamps: times,
            inputOffsets: [0, Int32(unitIndex.count)], latentIndex: (0..<(steps * l)).map { Int32($0 % l) },
            latentTimestamps: (0..<(steps * l)).map { (Double($0 / l) + 0.5) * c.latentStep },
            outputTimestamps: [c.sequenceLength], outputOffsets: [0, 1],
            sessionIndex: [Int32(model.sessionVocab.row(of: r.sessionID)!)],
            targets: [Float](repeating: 0, count: c.dimOut),
            weights: [1], dimOut: c.dimOut)
    }

    /// The backends the decoder is checked on: the CPU, and OpenCL where a device is installed
    /// (PoCL in CI), whose keys reach the device by partial writes.
    static let devices: [String] =
        ["cpu"] + (((try? OpenCLDevice.availableDevices())?.isEmpty == false) ? ["opencl"] : [])

    @Test(arguments: devices)
    func streamingEqualsForwardOnTheSameWindow(_ deviceName: String) throws {
        let data = try Small.dataset()
        let device: Device = deviceName == "cpu" ? CPUDevice() : try OpenCLDevice(index: 0)
        let model = try Small.model(data, device: device)
        let r = data.recordings[1]
        // A small capacity: the ring grows (and the device copy is rewritten) while streaming.
        let decoder = try StreamingDecoder(model: model, sessionID: r.sessionID, capacity: 16)
        var next = 0
        var worst: Float = 0
        var checked = 0
        // Many update times, not on any grid, through spikes pushed as they "arrive" — some up to
        // 50 ms ahead of the update, which must leave them out.
        var t = 1.3
        while t < 30 {
            while next < r.spikeTimes.count && r.spikeTimes[next] < t + 0.05 {
                try decoder.push(unit: decoder.unit(r.unitIDs[Int(r.spikeUnit[next])])!, time: r.spikeTimes[next])
                next += 1
            }
            let streamed = try decoder.decode(at: t)
            let act = try model.forward(try model.prepare(Self.window(r, model, units: decoder.unitIDs, at: t)))
            let reference = try model.device.download(act.prediction)
            for (a, b) in zip(streamed, reference) { worst = max(worst, abs(a - b) / max(1, abs(b))) }
            checked += 1
            t += 0.377
        }
        #expect(checked > 70)
        #expect(worst <= 1e-5, "largest difference \(worst) over \(checked) updates")
        #expect(decoder.spikesKept < next, "old spikes were not evicted")
    }

    /// After the first updates, a push and an update allocate nothing: no device buffer (the arena
    /// and the ring serve every tensor) and, in an optimised build, no host memory (counted by
    /// interposing malloc & co. on this thread; AllocationCounter), on one CPU thread as a closed
    /// loop runs it. Unoptimised Swift allocates for generic calls (accessor coroutine frames), so
    /// a debug build checks the device side only; `.ci/run` checks the release build's host side
    /// with `poyo-bench stream --max-allocations 0` (ci/gpu-bundle.sh --selftest).
    @Test func updatesAllocateNothing() throws {
        let data = try Small.dataset()
        let device = CPUDevice(threads: 1)
        let model = try Small.model(data, device: device)
        let r = data.recordings[0]
        let decoder = try StreamingDecoder(model: model, sessionID: r.sessionID)
        let units = r.unitIDs.map { decoder.unit($0)! }
        var out = [Float](repeating: 0, count: model.config.dimOut)
        var next = 0
        var created = 0
        var allocations: UInt64 = 0
        var updates = 0
        try out.withUnsafeMutableBufferPointer { out in
            for step in 0..<120 {
                if step == 60 {
                    created = device.buffersCreated
                    allocations = poyo_allocation_count()
                }
                let t = 1 + 0.02 * Double(step)
                while next < r.spikeTimes.count && r.spikeTimes[next] < t {
                    try decoder.push(unit: units[Int(r.spikeUnit[next])], time: r.spikeTimes[next])
                    next += 1
                }
                try decoder.decode(at: t, into: out)
                if step >= 60 { updates += 1 }
            }
        }
        let made = poyo_allocation_count() - allocations
        #expect(device.buffersCreated == created, "\(device.buffersCreated - created) buffers made after warm-up")
        #if !DEBUG
            if poyo_allocation_counting() == 1 {
                #expect(made == 0, "\(made) heap allocations in \(updates) updates after warm-up")
            }
        #else
            _ = made
        #endif
        #expect(out.allSatisfy { $0.isFinite })
    }

    /// The counter itself: an allocation on this thread is seen (so a zero above means something).
    @Test func allocationCounterSeesAllocations() throws {
        guard poyo_allocation_counting() == 1 else { return }  // counted on Linux with glibc only
        let before = poyo_allocation_count()
        let p = malloc(100)
        free(p)
        var a = [Int](repeating: 1, count: Int.random(in: 10...20))
        a.append(2)
        #expect(poyo_allocation_count() - before >= 2)
    }

    /// `eval --causal` on one session equals scoring `forward` on the window ending at each sample.
    @Test func causalEvaluationScoresTheWindowEndingAtEachSample() throws {
        let data = try Small.dataset()
        let model = try Small.model(data)
        let r = data.recordings[0]
        let result = try CausalEvaluation.evaluate(model: model, recordings: [r], split: .valid)
        let (targets, _, scored) = Tokenizer.sampleTables(r)
        let units = model.unitVocab.words.filter { $0.hasPrefix(r.sessionID + "/") }
        var predictions: [Double] = []
        var truth: [Double] = []
        for (i, tau) in r.behaviourTimes.enumerated() where scored[i] && r.validDomain.contains(tau) {
            let act = try model.forward(try model.prepare(Self.window(r, model, units: units, at: tau)))
            predictions += try model.device.download(act.prediction).map(Double.init)
            truth += (0..<r.behaviourDim).map { Double(targets[i * r.behaviourDim + $0]) }
        }
        #expect(result.samples[r.sessionID] == truth.count / r.behaviourDim && !truth.isEmpty)
        let expected = r2Score(predictions: predictions, targets: truth, dim: r.behaviourDim)
        let got = try #require(result.r2[r.sessionID])
        #expect(abs(got - expected) < 1e-5, "causal R² \(got), forward on the same windows \(expected)")
    }

    @Test func badPushesAreErrors() throws {
        let data = try Small.dataset()
        let model = try Small.model(data)
        let decoder = try StreamingDecoder(model: model, sessionID: data.recordings[0].sessionID)
        try decoder.push(unit: 0, time: 2)
        #expect(throws: POYOError.self) { try decoder.push(unit: 0, time: 1) }
        #expect(throws: POYOError.self) { try decoder.push(unit: decoder.unitIDs.count, time: 3) }
        #expect(throws: POYOError.self) { try decoder.push(unit: 0, time: .nan) }
        #expect(throws: POYOError.self) { try StreamingDecoder(model: model, sessionID: "no such session") }
    }
}
