import CPUKernels
import Foundation
import _CBLAS

/// The fast CPU backend: an AVX-512 GEMM (or OpenBLAS without AVX-512) for matrix products,
/// CPUKernels (C, vectorised) for the hot elementwise and per-row loops, Swift loops over raw
/// buffers for the rest, spread across cores; tensor memory from a size-class pool. The GPU
/// backends are tested op by op against it; it is itself tested against the readable float64
/// oracle of the tests (`Tests/ComputeTests/Reference.swift`, no code shared with any backend).
///
/// Each GEMM call runs single-threaded (OpenBLAS too): this device parallelises every op itself
/// (GEMMs by row blocks, attention by window × head) so thread pools never nest.
public final class CPUDevice: Device, @unchecked Sendable {
    public let name: String
    public var kind: DeviceKind { .cpu }
    let pool: ParallelRunner
    /// Tensor memory, recycled by size class (a steady training step allocates nothing new).
    let buffers = HostBufferPool()
    private let counterLock = NSLock()
    private var _readbacks = 0

    /// The SGEMM every matrix product runs (`CPUGemm.swift`).
    public let gemmKernels: CPUGemmKernels

    /// - Parameters:
    ///   - threads: worker count; default `POYO_NUM_THREADS` or the active core count.
    ///   - gemm: the SGEMM; default the best this CPU has (`CPUGemmKernels.best`).
    public init(threads: Int? = nil, gemm: CPUGemmKernels = .best) {
        gemmKernels = gemm
        let env = ProcessInfo.processInfo.environment["POYO_NUM_THREADS"].flatMap { Int($0) }
        let n = max(1, threads ?? env ?? ProcessInfo.processInfo.activeProcessorCount)
        pool = ParallelRunner(workers: n)
        openblas_set_num_threads(1)
        name = "cpu (\(gemm.name), \(n) thread\(n == 1 ? "" : "s"))"
    }

    /// Memory blocks taken from the system for tensors so far (not from the pool).
    public var buffersCreated: Int { buffers.createdCount }

    public var readbackCount: Int {
        counterLock.lock()
        defer { counterLock.unlock() }
        return _readbacks
    }

    private func countReadback() {
        counterLock.lock()
        _readbacks += 1
        counterLock.unlock()
    }

    // MARK: memory

    public func makeTensor(_ shape: [Int], dtype: DType, zeroed: Bool) throws -> Tensor {
        try allocate(shape, dtype, zero: zeroed)
    }

    /// A tensor from the pool; `zero: false` only where the caller writes every element.
    private func allocate(_ shape: [Int], _ dtype: DType, zero: Bool) throws -> Tensor {
        let count = shape.reduce(1, *)
        guard shape.allSatisfy({ $0 >= 0 }) else {
            throw ComputeError.shapeMismatch(op: "makeTensor", detail: "negative dimension in \(shape)")
        }
        guard let buf = buffers.take(count * dtype.byteSize, zero: zero) else {
            throw ComputeError.allocationFailed(bytes: count * dtype.byteSize)
        }
        return Tensor(shape: shape, dtype: dtype, storage: buf, deviceID: ObjectIdentifier(self))
    }

    public func write(_ values: [Float], to tensor: Tensor) throws {
        guard tensor.dtype == .float32 else { throw ComputeError.wrongDType(op: "write") }
        guard values.count == tensor.count else {
            throw ComputeError.shapeMismatch(op: "write", detail: "\(values.count) values into \(tensor.shape)")
        }
        let b = try host(tensor, "write")
        values.withUnsafeBufferPointer { src in
            if let base = src.baseAddress { b.floats.update(from: base, count: values.count) }
        }
    }

    public func write(_ values: [Int32], to tensor: Tensor) throws {
        guard tensor.dtype == .int32 else { throw ComputeError.wrongDType(op: "write") }
        guard values.count == tensor.count else {
            throw ComputeError.shapeMismatch(op: "write", detail: "\(values.count) values into \(tensor.shape)")
        }
        let b = try host(tensor, "write")
        values.withUnsafeBufferPointer { src in
            if let base = src.baseAddress { b.ints.update(from: base, count: values.count) }
        }
    }

    public func write(_ values: UnsafeBufferPointer<Float>, to tensor: Tensor, offset: Int) throws {
        guard tensor.dtype == .float32 else { throw ComputeError.wrongDType(op: "write") }
        guard offset >= 0, values.count <= tensor.count - offset else {
            throw ComputeError.shapeMismatch(
                op: "write", detail: "\(values.count) values at element \(offset) of \(tensor.shape)")
        }
        let b = try host(tensor, "write")
        if let base = values.baseAddress { (b.floats + offset).update(from: base, count: values.count) }
    }

    public func download(_ tensor: Tensor, into out: UnsafeMutableBufferPointer<Float>) throws {
        guard tensor.dtype == .float32 else { throw ComputeError.wrongDType(op: "download") }
        guard out.count == tensor.count else {
            throw ComputeError.shapeMismatch(op: "download", detail: "\(tensor.shape) into \(out.count) floats")
        }
        let b = try host(tensor, "download")
        countReadback()
        if let base = out.baseAddress { base.update(from: b.floats, count: tensor.count) }
    }

    public func download(_ tensor: Tensor) throws -> [Float] {
        guard tensor.dtype == .float32 else { throw ComputeError.wrongDType(op: "download") }
        let b = try host(tensor, "download")
        countReadback()
        return Array(UnsafeBufferPointer(start: b.floats, count: tensor.count))
    }

    public func downloadInt32(_ tensor: Tensor) throws -> [Int32] {
        guard tensor.dtype == .int32 else { throw ComputeError.wrongDType(op: "download") }
        let b = try host(tensor, "download")
        countReadback()
        return Array(UnsafeBufferPointer(start: b.ints, count: tensor.count))
    }

    func host(_ t: Tensor, _ op: String) throws -> HostBuffer {
        guard t.deviceID == ObjectIdentifier(self), let b = t.storage as? HostBuffer else {
            throw ComputeError.wrongDevice(op: op)
        }
        return b
    }

    /// Raw pointers for op implementations. Tensors reaching ops were made by this device
    /// (the model allocates through it), so a foreign tensor is a programming error.
    @inline(__always) func f(_ t: Tensor) -> UnsafeMutablePointer<Float> {
        // Storage type is checked once at creation; `unsafeDowncast` keeps this off the hot path.
        unsafeDowncast(t.storage, to: HostBuffer.self).floats
    }

    @inline(__always) func i(_ t: Tensor) -> UnsafeMutablePointer<Int32> {
        unsafeDowncast(t.storage, to: HostBuffer.self).ints
    }

    @inline(__always) func f(_ v: MatrixView) -> UnsafeMutablePointer<Float> { f(v.tensor) + v.offset }

    // MARK: elementwise

    public func fill(_ tensor: Tensor, _ value: Float) {
        let p = f(tensor)
        pool.run(tensor.count, grain: 1 << 16) { _, r in
            (p + r.lowerBound).update(repeating: value, count: r.count)
        }
    }

    public func copy(_ src: Tensor, to dst: Tensor) {
        let s = f(src)
        let d = f(dst)
        let n = min(src.count, dst.count)
        pool.run(n, grain: 1 << 16) { _, r in
            (d + r.lowerBound).update(from: s + r.lowerBound, count: r.count)
        }
    }

    public func axpy(_ alpha: Float, _ x: Tensor, _ y: Tensor) {
        let xp = f(x)
        let yp = f(y)
        pool.run(min(x.count, y.count), grain: 1 << 15) { _, r in
            for j in r { yp[j] += alpha * xp[j] }
        }
    }

    public func scale(_ tensor: Tensor, by factor: Float) {
        let p = f(tensor)
        pool.run(tensor.count, grain: 1 << 15) { _, r in
            for j in r { p[j] *= factor }
        }
    }

    public func dropout(_ x: Tensor, _ spec: DropoutSpec) {
        guard spec.isActive else { return }
        let p = f(x)
        let kernel = spec.kernelSpec
        pool.run(x.count, grain: 1 << 14) { _, r in
            poyo_dropout_apply(p + r.lowerBound, r.count, r.lowerBound, kernel)
        }
    }

    // MARK: reductions

    public func sumOfSquares(_ x: Tensor, into out: Tensor, accumulate: Bool) {
        let p = f(x)
        let n = x.count
        let c = pool.chunks(n, grain: 1 << 15)
        var partial = [Double](repeating: 0, count: max(c, 1))
        partial.withUnsafeMutableBufferPointer { part in
            let pp = part.baseAddress!
            pool.run(n, grain: 1 << 15) { ci, r in
                var s: Double = 0
                for j in r {
                    let v = Double(p[j])
                    s += v * v
                }
                pp[ci] = s
            }
        }
        let total = Float(partial.reduce(0, +))
        let o = f(out)
        o[0] = accumulate ? o[0] + total : total
    }
}

extension DropoutSpec {
    /// The spec as CPUKernels takes it (`poyo_dropout`): the same mask as `DropoutMask`.
    var kernelSpec: poyo_dropout {
        poyo_dropout(
            seed: seed, threshold: DropoutMask.threshold(p), keep_scale: isActive ? 1 / (1 - p) : 1,
            active: isActive ? 1 : 0)
    }
}
