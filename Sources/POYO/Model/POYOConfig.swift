import Foundation

/// POYO's hyper-parameters, under torch_brain's constructor names (docs/spec.md §3).
public struct POYOConfig: Codable, Equatable, Sendable {
    public var dim: Int
    public var depth: Int
    public var dimHead: Int
    public var crossHeads: Int
    public var selfHeads: Int
    public var numLatentsPerStep: Int
    public var latentStep: Double
    public var sequenceLength: Double
    public var dimOut: Int
    public var tMin: Double
    public var tMax: Double
    public var embInitScale: Double
    public var ffnDropout: Float
    public var linDropout: Float
    public var atnDropout: Float

    enum CodingKeys: String, CodingKey {
        case dim, depth
        case dimHead = "dim_head"
        case crossHeads = "cross_heads"
        case selfHeads = "self_heads"
        case numLatentsPerStep = "num_latents_per_step"
        case latentStep = "latent_step"
        case sequenceLength = "sequence_length"
        case dimOut = "dim_out"
        case tMin = "t_min"
        case tMax = "t_max"
        case embInitScale = "emb_init_scale"
        case ffnDropout = "ffn_dropout"
        case linDropout = "lin_dropout"
        case atnDropout = "atn_dropout"
    }

    public init(
        dim: Int, depth: Int, dimHead: Int = 64, crossHeads: Int, selfHeads: Int = 8,
        numLatentsPerStep: Int, latentStep: Double = 0.125, sequenceLength: Double = 1.0,
        dimOut: Int = 2, tMin: Double = 1e-4, tMax: Double = 2.0627, embInitScale: Double = 0.02,
        ffnDropout: Float = 0.2, linDropout: Float = 0.4, atnDropout: Float = 0.0
    ) {
        self.dim = dim
        self.depth = depth
        self.dimHead = dimHead
        self.crossHeads = crossHeads
        self.selfHeads = selfHeads
        self.numLatentsPerStep = numLatentsPerStep
        self.latentStep = latentStep
        self.sequenceLength = sequenceLength
        self.dimOut = dimOut
        self.tMin = tMin
        self.tMax = tMax
        self.embInitScale = embInitScale
        self.ffnDropout = ffnDropout
        self.linDropout = linDropout
        self.atnDropout = atnDropout
    }

    /// Missing keys take torch_brain's defaults, so partial configs (YAML, golden metadata) load.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = POYOConfig.poyo1_3M
        dim = try c.decodeIfPresent(Int.self, forKey: .dim) ?? d.dim
        depth = try c.decodeIfPresent(Int.self, forKey: .depth) ?? d.depth
        dimHead = try c.decodeIfPresent(Int.self, forKey: .dimHead) ?? d.dimHead
        crossHeads = try c.decodeIfPresent(Int.self, forKey: .crossHeads) ?? d.crossHeads
        selfHeads = try c.decodeIfPresent(Int.self, forKey: .selfHeads) ?? d.selfHeads
        numLatentsPerStep = try c.decodeIfPresent(Int.self, forKey: .numLatentsPerStep) ?? d.numLatentsPerStep
        latentStep = try c.decodeIfPresent(Double.self, forKey: .latentStep) ?? d.latentStep
        sequenceLength = try c.decodeIfPresent(Double.self, forKey: .sequenceLength) ?? d.sequenceLength
        dimOut = try c.decodeIfPresent(Int.self, forKey: .dimOut) ?? d.dimOut
        tMin = try c.decodeIfPresent(Double.self, forKey: .tMin) ?? d.tMin
        tMax = try c.decodeIfPresent(Double.self, forKey: .tMax) ?? d.tMax
        embInitScale = try c.decodeIfPresent(Double.self, forKey: .embInitScale) ?? d.embInitScale
        ffnDropout = try c.decodeIfPresent(Float.self, forKey: .ffnDropout) ?? d.ffnDropout
        linDropout = try c.decodeIfPresent(Float.self, forKey: .linDropout) ?? d.linDropout
        atnDropout = try c.decodeIfPresent(Float.self, forKey: .atnDropout) ?? d.atnDropout
    }

    /// torch_brain `poyo_1.3M`: single-session scale.
    public static let poyo1_3M = POYOConfig(
        dim: 64, depth: 6, crossHeads: 2, selfHeads: 8, numLatentsPerStep: 16,
        ffnDropout: 0.2, linDropout: 0.4, atnDropout: 0.2)
    /// torch_brain `poyo_11.8M`: multi-session scale.
    public static let poyo11_8M = POYOConfig(
        dim: 128, depth: 24, crossHeads: 4, selfHeads: 8, numLatentsPerStep: 32,
        ffnDropout: 0.2, linDropout: 0.4, atnDropout: 0.2)

    /// Latent time steps per window: `len(arange(0, sequence_length, latent_step))`.
    public var latentSteps: Int { Int((sequenceLength / latentStep).rounded(.up)) }
    public var latentsPerWindow: Int { latentSteps * numLatentsPerStep }
    public var crossInner: Int { dimHead * crossHeads }
    public var selfInner: Int { dimHead * selfHeads }

    /// Checks the constraints the engine relies on; a clear message instead of a bad shape later.
    public func validate() throws {
        func bad(_ s: String) -> POYOError { .invalidConfig("model: " + s) }
        guard dim > 0, depth >= 0, dimHead > 0, dimHead % 4 == 0 else {
            throw bad("dim, depth and dim_head must be positive (dim_head a multiple of 4)")
        }
        guard crossHeads > 0, selfHeads > 0, numLatentsPerStep > 0, dimOut > 0 else {
            throw bad("heads, num_latents_per_step and dim_out must be positive")
        }
        guard latentStep > 0, sequenceLength > 0, tMin > 0, tMax > tMin else {
            throw bad("need latent_step > 0, sequence_length > 0, 0 < t_min < t_max")
        }
        // Bounds far above any model, so that no size product overflows (sizes proper are the
        // memory budget's to judge) and the latent grid stays a countable number of steps.
        let most = 1 << 24
        let sizes = [
            ("dim", dim), ("depth", depth), ("dim_head", dimHead), ("cross_heads", crossHeads),
            ("self_heads", selfHeads), ("num_latents_per_step", numLatentsPerStep), ("dim_out", dimOut),
        ]
        if let (key, value) = sizes.first(where: { $0.1 > most }) {
            throw bad(
                "\(key) \(value) is above 2^24 "
                    + "(dim, depth, dim_head, heads, num_latents_per_step and dim_out must be at most 2^24)")
        }
        guard sequenceLength.isFinite, tMax.isFinite, sequenceLength / latentStep <= Double(1 << 20) else {
            throw bad("sequence_length / latent_step must be finite and at most 2^20 latent steps")
        }
        for (n, p) in [("ffn_dropout", ffnDropout), ("lin_dropout", linDropout), ("atn_dropout", atnDropout)]
        where !(p >= 0 && p < 1) {
            throw bad("\(n) must be in [0, 1), got \(p)")
        }
    }

    /// The config as `(key, value)` pairs in torch_brain's names, sorted by key, each value rendered
    /// with its type: integers as integers, real numbers always with a decimal point or exponent
    /// (`sequence_length: 1.0`), so `POYO(**config)` in torch_brain gets floats where it expects them.
    public var typedFields: [(key: String, value: String)] {

        let fields: [(String, String)] = [
            ("atn_dropout", realLiteral(atnDropout)), ("cross_heads", "\(crossHeads)"), ("depth", "\(depth)"),
            ("dim", "\(dim)"), ("dim_head", "\(dimHead)"), ("dim_out", "\(dimOut)"),
            ("emb_init_scale", realLiteral(embInitScale)), ("ffn_dropout", realLiteral(ffnDropout)),
            ("latent_step", realLiteral(latentStep)), ("lin_dropout", realLiteral(linDropout)),
            ("num_latents_per_step", "\(numLatentsPerStep)"), ("self_heads", "\(selfHeads)"),
            ("sequence_length", realLiteral(sequenceLength)), ("t_max", realLiteral(tMax)),
            ("t_min", realLiteral(tMin)),
        ]
        return fields.map { (key: $0.0, value: $0.1) }
    }

    /// JSON object of `typedFields` (checkpoint metadata, the run log).
    public func jsonString() -> String {
        "{" + typedFields.map { "\"\($0.key)\": \($0.value)" }.joined(separator: ", ") + "}"
    }
}

/// Errors of the model and training layer.
public enum POYOError: Error, CustomStringConvertible {
    case invalidConfig(String)
    case checkpoint(path: String, reason: String)
    case batch(String)
    case nonFinite(String)
    /// A data-parallel job could not start or lost a process.
    case distributed(String)
    /// A streaming decoder was given input it cannot use (an unknown unit, a spike out of order).
    case streaming(String)

    public var description: String {
        switch self {
        case .invalidConfig(let s): return "invalid config: \(s)"
        case .checkpoint(let p, let r): return "\(p): \(r)"
        case .batch(let s): return "bad batch: \(s)"
        case .nonFinite(let s): return s
        case .distributed(let s): return "distributed: \(s)"
        case .streaming(let s): return "streaming: \(s)"
        }
    }
}

/// A real number as text that reads back as the same value and always looks real (`1.0`, not `1`):
/// Swift's shortest round-trip form, with `.0` added when it has no point or exponent.
func realLiteral<T: BinaryFloatingPoint & CustomStringConvertible>(_ x: T) -> String {
    let s = x.description
    return s.contains(".") || s.contains("e") || !x.isFinite ? s : s + ".0"
}
