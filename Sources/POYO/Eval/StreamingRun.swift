import Foundation

/// Latency of a streaming run's updates (`poyo stream`'s summary).
public struct StreamingLatency: Sendable {
    public var updates: Int
    /// Seconds per update at the 50th, 99th and 99.9th percentiles, and the worst.
    public var p50: Double
    public var p99: Double
    public var p999: Double
    public var max: Double
    /// Updates slower than the deadline (0 without one).
    public var misses: Int

    public var text: String {
        String(
            format: "%ld updates; latency p50 %.3f ms, p99 %.3f ms, p99.9 %.3f ms, max %.3f ms", updates, p50 * 1e3,
            p99 * 1e3, p999 * 1e3, max * 1e3)
    }
}

/// A `StreamingDecoder` on a fixed clock: spikes are fed in time order, and before each spike every
/// tick (a multiple of `every` seconds) not yet decoded and not after the spike is decoded, so each
/// output sees exactly the spikes before its time. Outputs are in behaviour units
/// (`prediction · std + mean`). Each update's wall time is recorded for the latency summary.
public final class StreamingRun {
    public let decoder: StreamingDecoder
    public let every: Double
    public let deadline: Double?
    let mean: [Float]
    let std: [Float]
    /// The next tick to decode, as a multiple of `every` (counted, so ticks do not drift).
    private var nextTick: Int?
    public private(set) var latencies: [Double] = []
    private var misses = 0

    /// `mean` / `std`: the session's target normalisation (one value, or one per output dim).
    public init(decoder: StreamingDecoder, every: Double, deadline: Double? = nil, mean: [Float], std: [Float]) throws {
        guard every > 0, every.isFinite else { throw POYOError.streaming("--every must be positive") }
        self.decoder = decoder
        self.every = every
        self.deadline = deadline
        self.mean = mean
        self.std = std
        latencies.reserveCapacity(1 << 16)
    }

    /// Decodes every tick up to and including `time`, then adds the spike.
    public func feed(unit: Int, time: Double, output: (Double, [Float]) -> Void) throws {
        try advance(to: time, output: output)
        try decoder.push(unit: unit, time: time)
    }

    /// Decodes every tick up to and including `time` (the end of a stream, or a clock with no spikes).
    public func advance(to time: Double, output: (Double, [Float]) -> Void) throws {
        if nextTick == nil { nextTick = Int((time / every).rounded(.up)) }
        while let k = nextTick, Double(k) * every <= time {
            let tick = Double(k) * every
            let t0 = DispatchTime.now().uptimeNanoseconds
            let raw = try decoder.decode(at: tick)
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
            latencies.append(seconds)
            if let deadline, seconds > deadline { misses += 1 }
            output(tick, Self.behaviour(raw, mean: mean, std: std))
            nextTick = k + 1
        }
    }

    /// A prediction in behaviour units: `raw · std + mean`, with one value or one per dimension.
    public static func behaviour(_ raw: [Float], mean: [Float], std: [Float]) -> [Float] {
        var values = raw
        values.withUnsafeMutableBufferPointer { toBehaviour($0, mean: mean, std: std) }
        return values
    }

    /// `behaviour(_:mean:std:)` in place (no allocation: the C library's decode path).
    public static func toBehaviour(_ values: UnsafeMutableBufferPointer<Float>, mean: [Float], std: [Float]) {
        let d = values.count
        for j in 0..<d {
            values[j] =
                values[j] * (std.count == d ? std[j] : std.first ?? 1) + (mean.count == d ? mean[j] : mean.first ?? 0)
        }
    }

    public var summary: StreamingLatency {
        let sorted = latencies.sorted()
        func at(_ q: Double) -> Double {
            sorted.isEmpty ? .nan : sorted[Swift.min(sorted.count - 1, Int((q * Double(sorted.count)).rounded(.down)))]
        }
        return StreamingLatency(
            updates: sorted.count, p50: at(0.5), p99: at(0.99), p999: at(0.999), max: sorted.last ?? .nan,
            misses: misses)
    }
}
