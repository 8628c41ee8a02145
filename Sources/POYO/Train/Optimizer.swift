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
    var trainable: TrainableSet { get set }
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

/// What trains of each parameter, by handle; a parameter not in the set trains all of it.
public struct TrainableSet {
    private var parts: [ObjectIdentifier: Trainable] = [:]

    public init() {}

    public subscript(_ p: Parameter) -> Trainable {
        get { parts[ObjectIdentifier(p)] ?? .all }
        set { parts[ObjectIdentifier(p)] = newValue }
    }
}

/// Adam's two moments of one parameter, each shaped like it.
struct Moments {
    let parameter: Parameter
    let m: Tensor
    let v: Tensor

    init(_ p: Parameter, device: Device) throws {
        parameter = p
        m = try device.makeTensor(p.shape, dtype: .float32)
        v = try device.makeTensor(p.shape, dtype: .float32)
    }
}

/// Shared state of the Adam-family optimizers: moments per parameter and the hyper-parameters.
public class MomentOptimizer: Optimizer {
    let params: ParameterSet
    /// One entry per parameter, in the order of `params.all`.
    let moments: [Moments]
    public var beta1: Float, beta2: Float, eps: Float, weightDecay: Float
    public internal(set) var stepCount = 0

    init(params: ParameterSet, beta1: Float, beta2: Float, eps: Float, weightDecay: Float) throws {
        self.params = params
        self.moments = try params.all.map { try Moments($0, device: params.device) }
        self.beta1 = beta1
        self.beta2 = beta2
        self.eps = eps
        self.weightDecay = weightDecay
    }

    /// What each parameter trains (absent: all of it). Frozen tensors get no update, no moments and
    /// no weight decay; a row range trains those rows of a table as if they were the whole table.
    public var trainable = TrainableSet()

    public func step(lr: Float, beta1 b1: Float? = nil) throws {
        stepCount += 1
        for s in moments {
            let rows: Range<Int>?
            switch trainable[s.parameter] {
            case .none: continue
            case .all: rows = nil
            case .rows(let r): rows = r
            }
            try update(s, lr: lr, beta1: b1 ?? beta1, rows: rows)
        }
    }

    /// One tensor's update; subclasses call their device op.
    func update(_ s: Moments, lr: Float, beta1: Float, rows: Range<Int>?) throws {}

    /// The moments under checkpoint names: `<parameter>.exp_avg` and `<parameter>.exp_avg_sq`.
    public var state: [String: Tensor] {
        var d: [String: Tensor] = [:]
        for s in moments {
            d[s.parameter.name + ".exp_avg"] = s.m
            d[s.parameter.name + ".exp_avg_sq"] = s.v
        }
        return d
    }

    public func restore(from file: SafeTensorsFile, stepCount: Int) throws {
        for (name, tensor) in state {
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

    override func update(_ s: Moments, lr: Float, beta1: Float, rows: Range<Int>?) throws {
        // Dense on the whole tensor by definition; fine-tuning a row range is LAMB's (sparse tables).
        guard rows == nil else {
            throw POYOError.invalidConfig("training: AdamW cannot train part of '\(s.parameter.name)'; use LAMB")
        }
        params.device.adamWStep(
            param: s.parameter.value, grad: s.parameter.grad, m: s.m, v: s.v,
            AdamWParams(lr: lr, beta1: beta1, beta2: beta2, eps: eps, weightDecay: weightDecay, step: stepCount))
    }
}

/// LAMB as docs/spec.md §4.4: no bias correction, per-tensor trust ratio with ‖w‖ clamped at 10,
/// weight decay on every tensor; the embedding tables are sparse (untouched rows stay put and
/// have their moments reset). Consumes the gradient buffers (they hold the update direction after).
public final class LAMB: MomentOptimizer {
    public override init(
        params: ParameterSet, beta1: Float = 0.9, beta2: Float = 0.999, eps: Float = 1e-6, weightDecay: Float = 1e-4
    ) throws {
        try super.init(params: params, beta1: beta1, beta2: beta2, eps: eps, weightDecay: weightDecay)
    }

    override func update(_ s: Moments, lr: Float, beta1: Float, rows: Range<Int>?) throws {
        params.device.lambStep(
            param: s.parameter.value, grad: s.parameter.grad, m: s.m, v: s.v, sparseRows: s.parameter.sparse,
            LAMBParams(lr: lr, beta1: beta1, beta2: beta2, eps: eps, weightDecay: weightDecay, rows: rows))
    }
}
