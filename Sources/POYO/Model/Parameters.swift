import Compute
import Foundation
import POYOData

/// How a parameter starts (torch_brain / PyTorch defaults, POYO-SPEC §3.5).
public enum ParameterInit: Sendable {
    /// N(0, std²); with `zeroFirstRow`, row 0 (the "NA" padding row) is zero.
    case normal(std: Double, zeroFirstRow: Bool)
    /// U(−bound, bound): PyTorch Linear weight and bias with bound 1/√fan_in.
    case uniform(bound: Double)
    case constant(Float)
}

/// One named parameter: its torch_brain `state_dict` key, shape and how it trains.
public struct ParameterSpec: Sendable {
    public let name: String
    public let shape: [Int]
    public let initializer: ParameterInit
    /// Embedding tables whose untouched rows LAMB leaves alone (POYO-SPEC §4.4).
    public let sparse: Bool
}

/// The parameter registry: values and gradients on the device, keyed by torch_brain's names.
public final class ParameterSet {
    public let device: Device
    public let specs: [ParameterSpec]
    public private(set) var values: [String: Tensor] = [:]
    public private(set) var grads: [String: Tensor] = [:]

    public init(device: Device, specs: [ParameterSpec]) throws {
        self.device = device
        self.specs = specs
        for s in specs {
            values[s.name] = try device.makeTensor(s.shape, dtype: .float32)
            grads[s.name] = try device.makeTensor(s.shape, dtype: .float32)
        }
    }

    public subscript(_ name: String) -> Tensor { values[name]! }
    public func grad(_ name: String) -> Tensor { grads[name]! }

    public var count: Int { specs.reduce(0) { $0 + $1.shape.reduce(1, *) } }

    /// Fills every parameter from its initializer with a seeded generator (host-side, once).
    public func initialize(seed: UInt64) throws {
        var rng = SeededRNG(seed: seed)
        for s in specs {
            let n = s.shape.reduce(1, *)
            var v = [Float](repeating: 0, count: n)
            switch s.initializer {
            case .normal(let std, let zeroFirst):
                for j in 0..<n { v[j] = Float(rng.normal() * std) }
                if zeroFirst, let w = s.shape.last { for j in 0..<min(w, n) { v[j] = 0 } }
            case .uniform(let bound):
                for j in 0..<n { v[j] = Float((rng.uniform() * 2 - 1) * bound) }
            case .constant(let c):
                for j in 0..<n { v[j] = c }
            }
            try device.write(v, to: values[s.name]!)
        }
    }

    public func zeroGrads() {
        for s in specs { device.fill(grads[s.name]!, 0) }
    }

    /// Loads values by name (`prefix` + parameter name); shapes must match exactly.
    public func load(from file: SafeTensorsFile, prefix: String = "") throws {
        for s in specs {
            let e = try file.entry(prefix + s.name)
            guard e.shape == s.shape else {
                throw POYOError.checkpoint(
                    path: file.path,
                    reason: "tensor '\(prefix + s.name)' has shape \(e.shape), the model expects \(s.shape)")
            }
            try device.write(try file.floats(prefix + s.name), to: values[s.name]!)
        }
    }

    /// Every value read back from the device once, by name (for writers that share one read).
    public func hostValues() throws -> [String: [Float]] {
        var out: [String: [Float]] = [:]
        for s in specs { out[s.name] = try device.download(values[s.name]!) }
        return out
    }

    /// Adds every value to a writer under `prefix` + its name: from `host` (a `hostValues()` read)
    /// when given, else read back from the device.
    public func save(into writer: inout SafeTensorsWriter, prefix: String = "", host: [String: [Float]]? = nil) throws {
        for s in specs {
            let v = try host?[s.name] ?? device.download(values[s.name]!)
            writer.add(prefix + s.name, floats: v, shape: s.shape)
        }
    }
}

extension ParameterSet {
    /// The POYO parameter list for a config and vocabulary sizes (torch_brain key names and shapes).
    public static func poyoSpecs(_ c: POYOConfig, unitVocabSize: Int, sessionVocabSize: Int) -> [ParameterSpec] {
        let d = c.dim
        let emb = c.embInitScale
        var specs: [ParameterSpec] = []
        func add(_ n: String, _ shape: [Int], _ i: ParameterInit, sparse: Bool = false) {
            specs.append(ParameterSpec(name: n, shape: shape, initializer: i, sparse: sparse))
        }
        func layerNorm(_ p: String) {
            add("\(p).weight", [d], .constant(1))
            add("\(p).bias", [d], .constant(0))
        }
        func linear(_ p: String, out: Int, in fanIn: Int, bias: Bool) {
            let bound = 1 / Double(fanIn).squareRoot()
            add("\(p).weight", [out, fanIn], .uniform(bound: bound))
            if bias { add("\(p).bias", [out], .uniform(bound: bound)) }
        }
        func crossAttention(_ p: String) {
            layerNorm("\(p).norm")
            layerNorm("\(p).norm_context")
            linear("\(p).to_q", out: c.crossInner, in: d, bias: false)
            linear("\(p).to_kv", out: 2 * c.crossInner, in: d, bias: false)
            linear("\(p).to_out", out: d, in: c.crossInner, bias: true)
        }
        func feedForward(_ p: String) {
            layerNorm("\(p).0")
            linear("\(p).1.net.0", out: 8 * d, in: d, bias: true)
            linear("\(p).1.net.3", out: d, in: 4 * d, bias: true)
        }
        add("unit_emb.weight", [unitVocabSize, d], .normal(std: emb, zeroFirstRow: true), sparse: true)
        add("session_emb.weight", [sessionVocabSize, d], .normal(std: emb, zeroFirstRow: true), sparse: true)
        add("token_type_emb.weight", [4, d], .normal(std: emb, zeroFirstRow: false))
        add("latent_emb.weight", [c.numLatentsPerStep, d], .normal(std: emb, zeroFirstRow: false))
        crossAttention("enc_atn")
        feedForward("enc_ffn")
        for l in 0..<c.depth {
            layerNorm("proc_layers.\(l).0.norm")
            linear("proc_layers.\(l).0.to_qkv", out: 3 * c.selfInner, in: d, bias: false)
            linear("proc_layers.\(l).0.to_out", out: d, in: c.selfInner, bias: true)
            feedForward("proc_layers.\(l).1")
        }
        crossAttention("dec_atn")
        feedForward("dec_ffn")
        linear("readout", out: c.dimOut, in: d, bias: true)
        return specs
    }
}
