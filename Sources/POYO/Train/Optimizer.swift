import Compute
import Foundation

/// An optimizer owns per-parameter state on the device and updates `params` from their gradients.
public protocol Optimizer: AnyObject {
    /// One update with the given learning rate and (for OneCycle's momentum cycling) β1.
    func step(lr: Float, beta1: Float?) throws
    /// Number of steps taken.
    var stepCount: Int { get }
    /// Moment tensors by name (`<param>.exp_avg`, `<param>.exp_avg_sq`), for checkpoints.
    var state: [String: Tensor] { get }
    /// What each parameter trains (absent: all of it).
    var trainable: [String: Trainable] { get set }
    /// Sets the moments from `file` (names as in `state`, shapes checked) and the step count, so a
    /// resumed run continues exactly where the saved one stopped.
    func restore(from file: SafeTensorsFile, stepCount: Int) throws
}

/// Which part of a parameter an optimizer updates.
public enum Trainable: Sendable, Equatable {
    case all
    case none
    /// Rows of a `[V, D]` table (fine-tuning: the new vocabulary rows).
    case rows(Range<Int>)
}

/// Adam moments for every parameter.
final class Moments {
    let m: [String: Tensor]
    let v: [String: Tensor]
    init(_ params: ParameterSet) throws {
        var m: [String: Tensor] = [:]
        var v: [String: Tensor] = [:]
        for s in params.specs {
            m[s.name] = try params.device.makeTensor(s.shape, dtype: .float32)
            v[s.name] = try params.device.makeTensor(s.shape, dtype: .float32)
        }
        self.m = m
        self.v = v
    }
    var all: [String: Tensor] {
        var d: [String: Tensor] = [:]
        for (k, t) in m { d["\(k).exp_avg"] = t }
        for (k, t) in v { d["\(k).exp_avg_sq"] = t }
        return d
    }
}

/// Shared state of the Adam-family optimizers: moments per parameter and the hyper-parameters.
public class MomentOptimizer: Optimizer {
    let params: ParameterSet
    let moments: Moments
    public var beta1: Float, beta2: Float, eps: Float, weightDecay: Float
    public internal(set) var stepCount = 0

    init(params: ParameterSet, beta1: Float, beta2: Float, eps: Float, weightDecay: Float) throws {
        self.params = params
        self.moments = try Moments(params)
        self.beta1 = beta1
        self.beta2 = beta2
        self.eps = eps
        self.weightDecay = weightDecay
    }

    /// What each parameter trains (absent: all of it). Frozen tensors get no update, no moments and
    /// no weight decay; a row range trains those rows of a table as if they were the whole table.
    public var trainable: [String: Trainable] = [:]

    public func step(lr: Float, beta1 b1: Float? = nil) throws {
        stepCount += 1
        for s in params.specs {
            let rows: Range<Int>?
            switch trainable[s.name] ?? .all {
            case .none: continue
            case .all: rows = nil
            case .rows(let r): rows = r
            }
            try update(
                s, param: params[s.name], grad: params.grad(s.name), m: moments.m[s.name]!, v: moments.v[s.name]!,
                lr: lr, beta1: b1 ?? beta1, rows: rows)
        }
    }

    /// One tensor's update; subclasses call their device op.
    func update(
        _ spec: ParameterSpec, param: Tensor, grad: Tensor, m: Tensor, v: Tensor, lr: Float, beta1: Float,
        rows: Range<Int>?
    ) throws {}

    public var state: [String: Tensor] { moments.all }

    public func restore(from file: SafeTensorsFile, stepCount: Int) throws {
        for (name, tensor) in moments.all {
            let e = try file.entry(name)
            guard e.shape == tensor.shape else {
                throw POYOError.checkpoint(
                    path: file.path, reason: "'\(name)' has shape \(e.shape), expected \(tensor.shape)")
            }
            try params.device.write(try file.floats(name), to: tensor)
        }
        self.stepCount = stepCount
    }
}

/// torch.optim.AdamW semantics (decoupled decay, bias correction), dense on every tensor.
public final class AdamW: MomentOptimizer {
    public override init(
        params: ParameterSet, beta1: Float = 0.9, beta2: Float = 0.999, eps: Float = 1e-8, weightDecay: Float = 1e-4
    ) throws {
        try super.init(params: params, beta1: beta1, beta2: beta2, eps: eps, weightDecay: weightDecay)
    }

    override func update(
        _ spec: ParameterSpec, param: Tensor, grad: Tensor, m: Tensor, v: Tensor, lr: Float, beta1: Float,
        rows: Range<Int>?
    ) throws {
        // Dense on the whole tensor by definition; fine-tuning a row range is LAMB's (sparse tables).
        guard rows == nil else {
            throw POYOError.invalidConfig("training: AdamW cannot train part of '\(spec.name)'; use LAMB")
        }
        params.device.adamWStep(
            param: param, grad: grad, m: m, v: v,
            AdamWParams(lr: lr, beta1: beta1, beta2: beta2, eps: eps, weightDecay: weightDecay, step: stepCount))
    }
}

/// LAMB as POYO-SPEC §4.4: no bias correction, per-tensor trust ratio with ‖w‖ clamped at 10,
/// weight decay on every tensor; the embedding tables are sparse (untouched rows stay put and
/// have their moments reset). Consumes the gradient buffers (they hold the update direction after).
public final class LAMB: MomentOptimizer {
    public override init(
        params: ParameterSet, beta1: Float = 0.9, beta2: Float = 0.999, eps: Float = 1e-6, weightDecay: Float = 1e-4
    ) throws {
        try super.init(params: params, beta1: beta1, beta2: beta2, eps: eps, weightDecay: weightDecay)
    }

    override func update(
        _ spec: ParameterSpec, param: Tensor, grad: Tensor, m: Tensor, v: Tensor, lr: Float, beta1: Float,
        rows: Range<Int>?
    ) throws {
        params.device.lambStep(
            param: param, grad: grad, m: m, v: v, sparseRows: spec.sparse,
            LAMBParams(lr: lr, beta1: beta1, beta2: beta2, eps: eps, weightDecay: weightDecay, rows: rows))
    }
}
