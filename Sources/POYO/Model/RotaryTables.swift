import Foundation

/// The rotary time embedding's frequencies and per-token cos/sin tables (docs/spec.md §3.2).
///
/// Angles `t·ω` reach ~6e4 rad, so they are formed in Float64 on the host and only cos/sin are
/// rounded to Float32. ω are torch_brain's float32 values (exact to the bit), not the closed form.
public enum RotaryTables {
    /// torch_brain's float32 ω for t_min 1e-4, t_max 2.0627, 16 frequencies (golden/README.md).
    public static let referenceOmega: [Float] = [
        0x1.eadfb8p+15, 0x1.fa41b8p+14, 0x1.050f90p+14, 0x1.0d3de8p+13,
        0x1.15adeap+12, 0x1.1e6196p+11, 0x1.275b0cp+10, 0x1.309c86p+9,
        0x1.3a2856p+8, 0x1.4400acp+7, 0x1.4e27f4p+6, 0x1.58a0aap+5,
        0x1.636d70p+4, 0x1.6e90d6p+3, 0x1.7a0d9ap+2, 0x1.85e686p+1,
    ]

    /// The non-zero frequencies for a config: the reference values when t_min/t_max are the
    /// defaults, otherwise computed the way torch_brain does (in Float32).
    public static func omega(_ config: POYOConfig) -> [Float] {
        let pairs = config.dimHead / 4  // rotate_dim = dim_head / 2, one frequency per pair
        if pairs == 16, config.tMin == 1e-4, config.tMax == 2.0627 { return referenceOmega }
        let lo = Float(Foundation.log(Float(config.tMin)))
        let hi = Float(Foundation.log(Float(config.tMax)))
        return (0..<pairs).map { k in
            let w = pairs > 1 ? Float(k) / Float(pairs - 1) : 0
            let period = Foundation.exp(lo + w * (hi - lo))
            return 2 * Float.pi / period
        }
    }

    /// cos/sin of `t·ω` for every frequency (`[P]` each, ω widened to Float64): the angles are
    /// formed in Float64 and only cos/sin rounded. Every table row, and the streaming decoder's
    /// rotations, come from here.
    @inline(__always)
    static func angles(
        _ t: Double, omega: [Double], cos c: UnsafeMutablePointer<Float>, sin s: UnsafeMutablePointer<Float>
    ) {
        for k in omega.indices {
            let a = t * omega[k]
            c[k] = Float(Foundation.cos(a))
            s[k] = Float(Foundation.sin(a))
        }
    }

    /// cos/sin tables `[N, P]` for times `[N]`, `repeats` times over (`[repeats·N, P]`: the latents
    /// of every window share one table). Large tables are split over the cores: an input table
    /// of a batch-32 step is over a million Float64 cos/sin pairs.
    public static func tables(times: [Double], omega: [Float], repeats: Int = 1) -> (cos: [Float], sin: [Float]) {
        let p = omega.count
        let n = times.count
        var c = [Float](repeating: 0, count: repeats * n * p)
        var s = [Float](repeating: 0, count: repeats * n * p)
        let w = omega.map { Double($0) }
        c.withUnsafeMutableBufferPointer { cb in
            s.withUnsafeMutableBufferPointer { sb in
                let cp = cb.baseAddress
                let sp = sb.baseAddress
                times.withUnsafeBufferPointer { tb in
                    let chunks = n * p >= 1 << 15 ? ProcessInfo.processInfo.activeProcessorCount : 1
                    DispatchQueue.concurrentPerform(iterations: max(chunks, 1)) { chunk in
                        for row in (n * chunk / chunks)..<(n * (chunk + 1) / chunks) {
                            angles(tb[row], omega: w, cos: cp! + row * p, sin: sp! + row * p)
                        }
                    }
                }
                for r in 1..<max(repeats, 1) {
                    (cp! + r * n * p).update(from: cp!, count: n * p)
                    (sp! + r * n * p).update(from: sp!, count: n * p)
                }
            }
        }
        return (c, s)
    }
}
