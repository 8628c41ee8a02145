import AllocationCounter
import ArgumentParser
import Compute
import Foundation
import POYO
import POYOData

/// `poyo-bench stream`: the streaming decoder's per-update latency (`StreamingDecoder.decode`) for
/// a session of U units firing at R Hz each (Poisson), an update every 20 ms, after a warm-up of
/// one window. Pin it to one core for the figures users compare: `taskset -c 0 poyo-bench stream`.
struct StreamLatency: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stream", abstract: "Time the streaming decoder's updates (closed-loop latency).")

    @Option(help: "Comma-separated model configs: 1.3M, 11.8M.") var model = "1.3M,11.8M"
    @Option(help: "Comma-separated unit counts.") var units = "100,300,1000"
    @Option(help: "Comma-separated firing rates (Hz per unit).") var rates = "10,30"
    @Option(help: "Seconds between updates.") var every = 0.02
    @Option(help: "Timed updates per case.") var updates = 500
    @Option(help: "Worker threads (CPU backend; 1 for one core).") var threads = 1
    @Option(help: "Device: cpu, cuda, cuda:N, opencl or opencl:N.") var device = "cpu"
    @Flag(help: "Print JSON lines.") var json = false
    @Option(
        help: ArgumentHelp(
            "Fail (exit 1) when the timed updates and pushes average more heap allocations than this.",
            discussion: "A release-build check: unoptimised Swift allocates for generic calls."))
    var maxAllocations: Double?

    func run() throws {
        // The counter must see this thread's allocations (making a device allocates), or every
        // count below would be a vacuous 0.
        let before = poyo_allocation_count()
        let device = try BenchDevice.make(self.device, threads: threads)
        let counting = poyo_allocation_counting() == 1 && poyo_allocation_count() > before
        var over: [String] = []  // cases above --max-allocations
        defer {
            if !over.isEmpty {
                let counted = counting ? "" : " (allocations are not counted in this build)"
                let message =
                    "stream: heap allocations per update above \(maxAllocations ?? 0)\(counted): "
                    + over.joined(separator: ", ") + "\n"
                FileHandle.standardError.write(Data(message.utf8))
                Foundation.exit(1)
            }
        }
        for name in model.split(separator: ",").map(String.init) {
            let config = name == "11.8M" ? POYOConfig.poyo11_8M : POYOConfig.poyo1_3M
            for u in units.split(separator: ",").compactMap({ Int($0) }) {
                let words = (0..<u).map { "s0/unit_\($0)" }
                let m = try POYOModel(
                    config: config, unitVocab: try Vocabulary(words: words),
                    sessionVocab: try Vocabulary(words: ["s0"]), device: device)
                try m.params.initialize(seed: 1)
                for rate in rates.split(separator: ",").compactMap({ Double($0) }) {
                    let decoder = try StreamingDecoder(model: m, sessionID: "s0", capacity: Int(Double(u) * rate * 2))
                    var rng = SeededRNG(seed: 9)
                    var t = 0.0
                    var tick = 0
                    var times: [Double] = []
                    times.reserveCapacity(updates)
                    let warmup = Int((config.sequenceLength / every).rounded(.up))
                    var out = [Float](repeating: 0, count: config.dimOut)
                    // Heap allocations in the timed updates and in the pushes between them.
                    var allocations: UInt64 = 0
                    try out.withUnsafeMutableBufferPointer { out in
                        while times.count < updates {
                            t += -Foundation.log(1 - rng.uniform()) / (Double(u) * rate)
                            while Double(tick + 1) * every <= t {
                                tick += 1
                                let a0 = poyo_allocation_count()
                                let t0 = DispatchTime.now().uptimeNanoseconds
                                try decoder.decode(at: Double(tick) * every, into: out)
                                let dt = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6
                                if tick > warmup && times.count < updates {
                                    times.append(dt)
                                    allocations += poyo_allocation_count() - a0
                                }
                            }
                            let a0 = poyo_allocation_count()
                            try decoder.push(unit: rng.int(below: u), time: t)
                            if tick > warmup { allocations += poyo_allocation_count() - a0 }
                        }
                    }
                    let perUpdate = counting ? Double(allocations) / Double(times.count) : .nan
                    times.sort()
                    if let maxAllocations, !(perUpdate <= maxAllocations) {
                        over.append(String(format: "%@ %d units %.0f Hz: %.1f", name, u, rate, perUpdate))
                    }
                    func q(_ p: Double) -> Double { times[min(times.count - 1, Int(p * Double(times.count)))] }
                    if json {
                        printJSON([
                            "kind": "stream_update", "device": device.name, "model": name, "units": u, "rate_hz": rate,
                            "every_s": every, "updates": times.count, "p50_ms": q(0.5), "p99_ms": q(0.99),
                            "p999_ms": q(0.999), "max_ms": times.last!, "spikes_in_window": decoder.spikesKept,
                            "allocations_per_update": perUpdate,
                        ])
                    } else {
                        print(
                            String(
                                format: "%@  %@  %5d units  %3.0f Hz  p50 %7.3f ms  p99 %7.3f ms  "
                                    + "p99.9 %7.3f ms  max %7.3f ms  allocations/update %.1f",
                                device.name, name, u, rate, q(0.5), q(0.99), q(0.999), times.last!, perUpdate))
                    }
                }
            }
        }
    }
}
