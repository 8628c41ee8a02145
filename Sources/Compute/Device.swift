/// Which backend a device is.
public enum DeviceKind: String, Sendable {
    case cpu
    case opencl
    case cuda
}

/// Hyper-parameters of one AdamW step (decoupled weight decay, bias-corrected).
public struct AdamWParams: Sendable {
    public var lr: Float
    public var beta1: Float
    public var beta2: Float
    public var eps: Float
    public var weightDecay: Float
    /// 1-based step count, for bias correction.
    public var step: Int

    public init(
        lr: Float, beta1: Float = 0.9, beta2: Float = 0.999, eps: Float = 1e-8, weightDecay: Float = 1e-4, step: Int
    ) {
        self.lr = lr
        self.beta1 = beta1
        self.beta2 = beta2
        self.eps = eps
        self.weightDecay = weightDecay
        self.step = step
    }
}

/// Hyper-parameters of one LAMB step as docs/spec.md §4.4: no bias correction, trust ratio clamped at 10.
public struct LAMBParams: Sendable {
    public var lr: Float
    public var beta1: Float
    public var beta2: Float
    public var eps: Float
    public var weightDecay: Float
    /// Upper clamp of ‖w‖ in the trust ratio.
    public var maxWeightNorm: Float
    /// Rows of a `[V, D]` table the step covers (nil: the whole tensor). The rest is not read for the
    /// trust ratio and not written: a table whose first rows are frozen trains its other rows as if
    /// they were the whole table (fine-tuning new vocabulary rows, docs/spec.md §6).
    public var rows: Range<Int>?

    public init(
        lr: Float, beta1: Float = 0.9, beta2: Float = 0.999, eps: Float = 1e-6, weightDecay: Float = 1e-4,
        maxWeightNorm: Float = 10, rows: Range<Int>? = nil
    ) {
        self.rows = rows
        self.lr = lr
        self.beta1 = beta1
        self.beta2 = beta2
        self.eps = eps
        self.weightDecay = weightDecay
        self.maxWeightNorm = maxWeightNorm
    }
}

/// The elements a LAMB step covers: `count` from `base` (a row range of a `[V, D]` table, clamped to
/// the tensor, or the whole tensor).
public struct LAMBSpan: Sendable {
    public let base: Int
    public let count: Int

    public init(_ t: Tensor, _ rows: Range<Int>?) {
        guard let rows else {
            base = 0
            count = t.count
            return
        }
        let width = t.columns
        let lo = min(max(rows.lowerBound, 0), t.rows)
        let hi = min(max(rows.upperBound, lo), t.rows)
        base = lo * width
        count = (hi - lo) * width
    }
}

/// Dropout settings for one op call. `seed` selects the mask; the same seed gives the same mask,
/// so a backward pass re-derives it instead of storing it.
public struct DropoutSpec: Sendable {
    public var p: Float
    public var seed: UInt64
    public init(p: Float, seed: UInt64) {
        self.p = p
        self.seed = seed
    }
    public static let none = DropoutSpec(p: 0, seed: 0)
    public var isActive: Bool { p > 0 }
}

/// The compute boundary: every numerical op the POYO graph needs, forward and backward side by side.
///
/// Conventions (shared by all backends):
/// - Tensors are row-major Float32 unless noted; index tensors are Int32.
/// - Forward ops overwrite their outputs. Backward ops **accumulate** (`+=`) into every gradient
///   they produce, so callers zero gradient buffers before a backward pass.
/// - Ops are enqueued in order; only `download`/`readScalar` synchronise with the host.
public protocol Device: AnyObject, Sendable {
    var name: String { get }
    var kind: DeviceKind { get }
    /// How many device→host reads happened (tests assert a training step reads only the loss).
    var readbackCount: Int { get }

    // MARK: memory
    /// A new tensor; with `zeroed: false` its contents are undefined until written (only for callers
    /// that write every element, as `upload` does). `makeTensor(_:dtype:)` is the zero-filled one.
    func makeTensor(_ shape: [Int], dtype: DType, zeroed: Bool) throws -> Tensor
    /// Host → existing tensor (sizes must match).
    func write(_ values: [Float], to tensor: Tensor) throws
    func write(_ values: [Int32], to tensor: Tensor) throws
    /// Host → elements `offset ..< offset + values.count` of a float32 tensor; the rest is left as
    /// it was. The streaming decoder writes only the keys that changed since its last update.
    func write(_ values: UnsafeBufferPointer<Float>, to tensor: Tensor, offset: Int) throws
    func download(_ tensor: Tensor) throws -> [Float]
    /// A float32 tensor → `out` (exactly `tensor.count` floats), without allocating a host array.
    func download(_ tensor: Tensor, into out: UnsafeMutableBufferPointer<Float>) throws
    func downloadInt32(_ tensor: Tensor) throws -> [Int32]

    // MARK: elementwise
    func fill(_ tensor: Tensor, _ value: Float)
    /// dst = src (same element count).
    func copy(_ src: Tensor, to dst: Tensor)
    /// y += alpha · x
    func axpy(_ alpha: Float, _ x: Tensor, _ y: Tensor)
    func scale(_ tensor: Tensor, by factor: Float)
    /// In place: x ← x ⊙ mask / (1 − p), mask from (seed, element index). Its own backward.
    func dropout(_ x: Tensor, _ spec: DropoutSpec)

    // MARK: matrix products
    /// c ← alpha · op(a) · op(b) + beta · c, with op(a) `[m, k]`, op(b) `[k, n]`, c `[m, n]`.
    func gemm(
        transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
        a: MatrixView, b: MatrixView, beta: Float, c: MatrixView)
    /// x `[N, D]` += bias `[D]` on every row.
    func addBias(_ x: Tensor, _ bias: Tensor)
    /// dBias `[D]` += Σ_n dY `[N, D]` (the bias gradient).
    func sumRows(_ dY: Tensor, into dBias: Tensor)

    // MARK: embeddings
    /// out `[N, D]` (+)= table `[V, D]` rows at indices `[N]`.
    func gatherRows(table: Tensor, indices: Tensor, out: Tensor, accumulate: Bool)
    /// dTable `[V, D]` rows at indices `[N]` += dOut `[N, D]`; deterministic (same bits every run).
    func scatterAddRows(_ dOut: Tensor, indices: Tensor, into dTable: Tensor)

    // MARK: layer norm (biased variance)
    /// out = (x − mean) · rstd · gamma + beta; saves mean, rstd `[N]`.
    func layerNormForward(x: Tensor, gamma: Tensor, beta: Tensor, out: Tensor, mean: Tensor, rstd: Tensor, eps: Float)
    /// dX `[N, D]`, dGamma, dBeta `[D]` += their gradients.
    func layerNormBackward(
        dOut: Tensor, x: Tensor, gamma: Tensor, mean: Tensor, rstd: Tensor,
        dX: Tensor, dGamma: Tensor, dBeta: Tensor)

    // MARK: GEGLU
    /// h `[N, 2F]` = [a | g] → out `[N, F]` = a ⊙ GELU_erf(g).
    func gegluForward(h: Tensor, out: Tensor)
    /// dH `[N, 2F]` += gradient through a ⊙ GELU(g).
    func gegluBackward(dOut: Tensor, h: Tensor, dH: Tensor)

    // MARK: rotary time embedding
    /// In place on x `[N, heads·headDim]` (a view): pair (2p, 2p+1) of every head, p < P, is rotated
    /// by the angle whose cos/sin are tables `[N, P]`; `inverse` rotates by minus the angle.
    /// The backward of a rotation is the inverse rotation.
    func rotary(_ x: MatrixView, cos: Tensor, sin: Tensor, heads: Int, headDim: Int, inverse: Bool)

    // MARK: varlen attention
    /// Per window b and head h: out_b = softmax(scale · q_b k_bᵀ) v_b over the window's own keys,
    /// with dropout on the probabilities. q `[Nq, H·Dh]`, k, v `[Nk, H·Dh]` (views), offsets
    /// `[B+1]` Int32. Saves lse `[Nq, H]` (log-sum-exp of the scaled scores) for the backward.
    func attentionForward(
        q: MatrixView, k: MatrixView, v: MatrixView, out: Tensor, lse: Tensor,
        queryOffsets: Tensor, keyOffsets: Tensor, heads: Int, headDim: Int,
        scale: Float, dropout: DropoutSpec)
    /// dQ, dK, dV (views) += gradients, given dOut `[Nq, H·Dh]` and the forward's q, k, v, out, lse.
    func attentionBackward(
        dOut: Tensor, q: MatrixView, k: MatrixView, v: MatrixView, out: Tensor, lse: Tensor,
        dQ: MatrixView, dK: MatrixView, dV: MatrixView,
        queryOffsets: Tensor, keyOffsets: Tensor, heads: Int, headDim: Int,
        scale: Float, dropout: DropoutSpec)

    // MARK: loss
    /// loss `[1]` = Σ_i w_i · mean_d (pred − target)² / Σ_i w_i (0 when Σw = 0). pred, target `[N, D]`, w `[N]`.
    func weightedMSEForward(pred: Tensor, target: Tensor, weights: Tensor, loss: Tensor)
    /// dPred += ∂loss/∂pred.
    func weightedMSEBackward(pred: Tensor, target: Tensor, weights: Tensor, dPred: Tensor)

    // MARK: optimizers (all state stays on the device)
    func adamWStep(param: Tensor, grad: Tensor, m: Tensor, v: Tensor, _ hp: AdamWParams)
    /// One LAMB step for one tensor. With `sparseRows`, rows (of a `[V, D]` table) whose gradient is
    /// all zero keep their weights and have their moments reset to zero (docs/spec.md §4.4). `grad` is
    /// consumed: it holds the update direction afterwards, so the gradient must be recomputed (after
    /// zeroing) before it is read again.
    func lambStep(param: Tensor, grad: Tensor, m: Tensor, v: Tensor, sparseRows: Bool, _ hp: LAMBParams)

    // MARK: reductions
    /// out `[1]` (+)= Σ x².
    func sumOfSquares(_ x: Tensor, into out: Tensor, accumulate: Bool)
}

extension Device {
    /// A new zero-filled tensor.
    public func makeTensor(_ shape: [Int], dtype: DType) throws -> Tensor {
        try makeTensor(shape, dtype: dtype, zeroed: true)
    }

    /// A new tensor holding `values` (row-major, `shape`'s element count).
    public func upload(_ values: [Float], shape: [Int]) throws -> Tensor {
        let t = try makeTensor(shape, dtype: .float32, zeroed: false)
        try write(values, to: t)
        return t
    }

    public func upload(_ values: [Int32], shape: [Int]) throws -> Tensor {
        let t = try makeTensor(shape, dtype: .int32, zeroed: false)
        try write(values, to: t)
        return t
    }
}

extension Device {
    /// Reads a single-element tensor.
    public func readScalar(_ tensor: Tensor) throws -> Float {
        let v = try download(tensor)
        return v.first ?? .nan
    }

    public func zeros(_ shape: [Int]) throws -> Tensor { try makeTensor(shape, dtype: .float32) }
}
