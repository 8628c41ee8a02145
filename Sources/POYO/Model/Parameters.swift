import Compute
import Foundation
import POYOData

/// How a parameter starts (torch_brain / PyTorch defaults, docs/spec.md §3.5).
public enum ParameterInit: Sendable {
    /// N(0, std²); with `zeroFirstRow`, row 0 (the "NA" padding row) is zero.
    case normal(std: Double, zeroFirstRow: Bool)
    /// U(−bound, bound): PyTorch Linear weight and bias with bound 1/√fan_in.
    case uniform(bound: Double)
    case constant(Float)
}

/// One parameter tensor: its torch_brain `state_dict` key, how it starts and trains, and its value and
/// gradient on the device. The model reaches it through the typed blocks of `ParameterSet`; the name is
/// only for files (checkpoints, golden fixtures) and messages.
public final class Parameter {
    public let name: String
    public let shape: [Int]
    public let initializer: ParameterInit
    /// An embedding table whose untouched rows LAMB leaves alone (docs/spec.md §4.4).
    public let sparse: Bool
    /// `shape`: the value.
    public let value: Tensor
    /// `shape`: ∂loss/∂value, accumulated by `POYOModel.backward` (zeroed by `ParameterSet.zeroGrads`).
    public let grad: Tensor

    init(name: String, shape: [Int], initializer: ParameterInit, sparse: Bool, device: Device) throws {
        self.name = name
        self.shape = shape
        self.initializer = initializer
        self.sparse = sparse
        value = try device.makeTensor(shape, dtype: .float32)
        grad = try device.makeTensor(shape, dtype: .float32)
    }

    /// Number of elements.
    public var count: Int { shape.reduce(1, *) }
}

/// A linear map `y = x · Wᵀ (+ b)`: weight `[out, in]`, bias `[out]` when the layer has one.
public struct LinearParameters {
    public let weight: Parameter
    public let bias: Parameter?
}

/// LayerNorm's scale γ and shift β, both `[d]`.
public struct LayerNormParameters {
    public let weight: Parameter
    public let bias: Parameter
}

/// torch_brain's pre-LN feed-forward block `Sequential(LayerNorm, FeedForward)`: the norm, the GEGLU
/// input projection `[8d, d]` (rows `0..<4d` the value half, `4d..<8d` the gate) and the output `[d, 4d]`.
public struct FeedForwardParameters {
    public let norm: LayerNormParameters
    public let input: LinearParameters
    public let output: LinearParameters
}

/// `RotaryCrossAttention`: norms of the queries and the context, `to_q [64·h, d]`,
/// `to_kv [2·64·h, d]` (k rows first, then v) and `to_out [d, 64·h]` with bias.
public struct CrossAttentionParameters {
    public let norm: LayerNormParameters
    public let normContext: LayerNormParameters
    public let toQ: LinearParameters
    public let toKV: LinearParameters
    public let toOut: LinearParameters
}

/// `RotarySelfAttention`: one norm, `to_qkv [3·64·h, d]` (q, k, v blocks) and `to_out [d, 64·h]`.
public struct SelfAttentionParameters {
    public let norm: LayerNormParameters
    public let toQKV: LinearParameters
    public let toOut: LinearParameters
}

/// One processing layer: self-attention, then its feed-forward block.
public struct ProcessorLayerParameters {
    public let attention: SelfAttentionParameters
    public let feedForward: FeedForwardParameters
}

/// Makes parameters under torch_brain's module path, in creation order. Each block writes its own
/// sub-keys once (`norm`, `to_q`, `1.net.0`, ...); the model never spells a key.
struct ParameterBuilder {
    let device: Device
    let dim: Int
    private(set) var made: [Parameter] = []

    init(device: Device, dim: Int) {
        self.device = device
        self.dim = dim
    }

    static func key(_ path: String, _ leaf: String) -> String { path.isEmpty ? leaf : path + "." + leaf }

    mutating func tensor(
        _ path: String, _ shape: [Int], _ initializer: ParameterInit, sparse: Bool = false
    ) throws -> Parameter {
        let p = try Parameter(name: path, shape: shape, initializer: initializer, sparse: sparse, device: device)
        made.append(p)
        return p
    }

    mutating func layerNorm(_ path: String) throws -> LayerNormParameters {
        LayerNormParameters(
            weight: try tensor(Self.key(path, "weight"), [dim], .constant(1)),
            bias: try tensor(Self.key(path, "bias"), [dim], .constant(0)))
    }

    /// PyTorch's `nn.Linear` initialisation: weight and bias U(−1/√fan_in, 1/√fan_in).
    mutating func linear(_ path: String, out: Int, in fanIn: Int, bias: Bool) throws -> LinearParameters {
        let bound = ParameterInit.uniform(bound: 1 / Double(fanIn).squareRoot())
        let w = try tensor(Self.key(path, "weight"), [out, fanIn], bound)
        return LinearParameters(weight: w, bias: bias ? try tensor(Self.key(path, "bias"), [out], bound) : nil)
    }

    mutating func feedForward(_ path: String) throws -> FeedForwardParameters {
        FeedForwardParameters(
            norm: try layerNorm(Self.key(path, "0")),
            input: try linear(Self.key(path, "1.net.0"), out: 8 * dim, in: dim, bias: true),
            output: try linear(Self.key(path, "1.net.3"), out: dim, in: 4 * dim, bias: true))
    }

    mutating func crossAttention(_ path: String, inner: Int) throws -> CrossAttentionParameters {
        CrossAttentionParameters(
            norm: try layerNorm(Self.key(path, "norm")),
            normContext: try layerNorm(Self.key(path, "norm_context")),
            toQ: try linear(Self.key(path, "to_q"), out: inner, in: dim, bias: false),
            toKV: try linear(Self.key(path, "to_kv"), out: 2 * inner, in: dim, bias: false),
            toOut: try linear(Self.key(path, "to_out"), out: dim, in: inner, bias: true))
    }

    mutating func selfAttention(_ path: String, inner: Int) throws -> SelfAttentionParameters {
        SelfAttentionParameters(
            norm: try layerNorm(Self.key(path, "norm")),
            toQKV: try linear(Self.key(path, "to_qkv"), out: 3 * inner, in: dim, bias: false),
            toOut: try linear(Self.key(path, "to_out"), out: dim, in: inner, bias: true))
    }
}

/// The POYO parameters as typed blocks, on one device, in torch_brain's `state_dict` order (the order of
/// `all` is also the order of seeded initialisation, so it must not change).
public final class ParameterSet {
    public let device: Device
    /// `unit_emb.weight` `[V_units, d]`, row 0 the "NA" padding row.
    public let unitEmbedding: Parameter
    /// `session_emb.weight` `[V_sessions, d]`, row 0 the padding row.
    public let sessionEmbedding: Parameter
    /// `token_type_emb.weight` `[4, d]`: 0 spike, 1 unit start, 2 unit end, 3 unused.
    public let tokenTypeEmbedding: Parameter
    /// `latent_emb.weight` `[latents per step, d]`.
    public let latentEmbedding: Parameter
    public let encoder: CrossAttentionParameters
    public let encoderFeedForward: FeedForwardParameters
    public let processor: [ProcessorLayerParameters]
    public let decoder: CrossAttentionParameters
    public let decoderFeedForward: FeedForwardParameters
    /// `readout` `[dim_out, d]` with bias.
    public let readout: LinearParameters
    /// Every parameter, in creation order.
    public let all: [Parameter]

    /// The parameters of `config` with vocabularies of the given sizes (each including "NA").
    public init(device: Device, config c: POYOConfig, unitVocabSize: Int, sessionVocabSize: Int) throws {
        self.device = device
        var b = ParameterBuilder(device: device, dim: c.dim)
        let emb = c.embInitScale
        unitEmbedding = try b.tensor(
            "unit_emb.weight", [unitVocabSize, c.dim], .normal(std: emb, zeroFirstRow: true), sparse: true)
        sessionEmbedding = try b.tensor(
            "session_emb.weight", [sessionVocabSize, c.dim], .normal(std: emb, zeroFirstRow: true), sparse: true)
        tokenTypeEmbedding = try b.tensor("token_type_emb.weight", [4, c.dim], .normal(std: emb, zeroFirstRow: false))
        latentEmbedding = try b.tensor(
            "latent_emb.weight", [c.numLatentsPerStep, c.dim], .normal(std: emb, zeroFirstRow: false))
        encoder = try b.crossAttention("enc_atn", inner: c.crossInner)
        encoderFeedForward = try b.feedForward("enc_ffn")
        var layers: [ProcessorLayerParameters] = []
        for l in 0..<c.depth {
            let path = "proc_layers.\(l)"
            layers.append(
                ProcessorLayerParameters(
                    attention: try b.selfAttention(ParameterBuilder.key(path, "0"), inner: c.selfInner),
                    feedForward: try b.feedForward(ParameterBuilder.key(path, "1"))))
        }
        processor = layers
        decoder = try b.crossAttention("dec_atn", inner: c.crossInner)
        decoderFeedForward = try b.feedForward("dec_ffn")
        readout = try b.linear("readout", out: c.dimOut, in: c.dim, bias: true)
        all = b.made
    }

    /// Number of scalar parameters.
    public var count: Int { all.reduce(0) { $0 + $1.count } }

    /// Fills every parameter from its initializer with a seeded generator (host-side, once).
    public func initialize(seed: UInt64) throws {
        var rng = SeededRNG(seed: seed)
        for p in all {
            let n = p.count
            var v = [Float](repeating: 0, count: n)
            switch p.initializer {
            case .normal(let std, let zeroFirst):
                for j in 0..<n { v[j] = Float(rng.normal() * std) }
                if zeroFirst, let w = p.shape.last { for j in 0..<min(w, n) { v[j] = 0 } }
            case .uniform(let bound):
                for j in 0..<n { v[j] = Float((rng.uniform() * 2 - 1) * bound) }
            case .constant(let c):
                for j in 0..<n { v[j] = c }
            }
            try device.write(v, to: p.value)
        }
    }

    public func zeroGrads() {
        for p in all { device.fill(p.grad, 0) }
    }

    /// Loads values by name (`prefix` + parameter name); shapes must match exactly.
    public func load(from file: SafeTensorsFile, prefix: String = "") throws {
        for p in all {
            let e = try file.entry(prefix + p.name)
            guard e.shape == p.shape else {
                throw POYOError.checkpoint(
                    path: file.path,
                    reason: "tensor '\(prefix + p.name)' has shape \(e.shape), the model expects \(p.shape)")
            }
            try device.write(try file.floats(prefix + p.name), to: p.value)
        }
    }

    /// Every value read back from the device once, in the order of `all` (for writers that share one read).
    public func hostValues() throws -> [[Float]] {
        try all.map { try device.download($0.value) }
    }

    /// Adds every value to a writer under `prefix` + its name: from `host` (a `hostValues()` read)
    /// when given, else read back from the device.
    public func save(into writer: inout SafeTensorsWriter, prefix: String = "", host: [[Float]]? = nil) throws {
        for (i, p) in all.enumerated() {
            let v = try host?[i] ?? device.download(p.value)
            writer.add(prefix + p.name, floats: v, shape: p.shape)
        }
    }
}
