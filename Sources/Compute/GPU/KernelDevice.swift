import Foundation

/// A device buffer as the shared host code hands it to kernels: a `cl_mem` (OpenCL) or a
/// `CUdeviceptr` (CUDA), by bit pattern. Only the backend that made it turns it back.
struct DeviceMemory: Hashable {
    let bits: UInt
}

/// What the GPU backends' storage objects (tensor memory, op scratch) have in common. A storage
/// object returns its memory to the backend's pool when it dies.
protocol DeviceStorage: AnyObject {
    var memory: DeviceMemory { get }
}

/// What a GPU backend provides to `KernelDevice`: memory, copies, kernel launches and its BLAS.
/// Every call is made with the device's lock held, in op order, on one in-order queue or stream.
protocol KernelBackend: AnyObject {
    /// Memory of at least `bytes` bytes (pooled), uninitialised.
    func take(_ bytes: Int) throws -> DeviceStorage
    /// Whether `storage` came from this backend (so from this device).
    func owns(_ storage: AnyObject) -> Bool
    func zero(_ memory: DeviceMemory, bytes: Int) throws
    /// Blocking copies: they return once the data has arrived, after every earlier op.
    func write(_ bytes: UnsafeRawBufferPointer, to memory: DeviceMemory, at offset: Int) throws
    func read(_ memory: DeviceMemory, into bytes: UnsafeMutableRawBufferPointer) throws
    /// Waits for every enqueued command.
    func finish() throws
    /// Enqueues kernel `name` of program `id` over `global` work-items in groups of `local`.
    func launch(_ id: ProgramID, _ name: String, global: Int, local: Int, _ args: [KernelArg]) throws
    /// Row-major C = alpha · op(A)·op(B) + beta · C on the views' offsets and leading dimensions,
    /// k > 0 (the caller handles k = 0).
    func sgemm(
        transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
        a: DeviceMemory, aOffset: Int, lda: Int, b: DeviceMemory, bOffset: Int, ldb: Int,
        beta: Float, c: DeviceMemory, cOffset: Int, ldc: Int
    ) throws
    /// Memory blocks created so far (not taken from the pool).
    var buffersCreated: Int { get }
}

/// The GPU device layer shared by OpenCL and CUDA: tensors, failures and every op, written once
/// over the kernels of `Kernels/cl/` (one source for both compilers). `OpenCLDevice` and
/// `CUDADevice` supply a `KernelBackend` and their own extras. The ops live in the `GPU<Family>`
/// files beside this one, named like the CPU files (`CPU<Family>.swift`) and the kernel files.
///
/// Ops cannot throw (the `Device` protocol), so a failure inside one (a driver error, a tensor of
/// another device) is recorded and thrown by the next call that can throw: `download`, `write`,
/// `upload`, `makeTensor` or `synchronize`. The first failure sticks: later ops are skipped and
/// every throwing call reports it, since the device's buffers are then in an unknown state.
public class KernelDevice: Device, @unchecked Sendable {
    public let name: String
    public let kind: DeviceKind
    let backend: KernelBackend
    /// Guards everything below and serialises enqueueing.
    let lock = NSRecursiveLock()
    private var failure: Error?
    private var readbacks = 0

    init(name: String, kind: DeviceKind, backend: KernelBackend) {
        self.name = name
        self.kind = kind
        self.backend = backend
    }

    /// Work-group size of reductions and row kernels (a power of two every device supports); the
    /// kernels get it as `-D WG`.
    static let groupSize = 128

    public var readbackCount: Int {
        lock.lock()
        defer { lock.unlock() }
        return readbacks
    }

    /// Memory blocks created so far (the rest came from the pool); flat after a warm-up step.
    public var buffersCreated: Int { backend.buffersCreated }

    // MARK: failures

    /// Runs one op's enqueueing under the lock; a thrown error is kept for the next throwing call.
    func perform(_ body: () throws -> Void) {
        lock.lock()
        defer { lock.unlock() }
        guard failure == nil else { return }
        do { try body() } catch { failure = error }
    }

    func throwIfFailed() throws {
        if let failure { throw failure }
    }

    /// Waits for every enqueued op; throws the first failure of any op since the device was made.
    public func synchronize() throws {
        lock.lock()
        defer { lock.unlock() }
        try throwIfFailed()
        try backend.finish()
    }

    // MARK: tensors

    /// The memory behind `t`, which must have been made by this device.
    func mem(_ t: Tensor, _ op: String) throws -> DeviceMemory {
        guard t.deviceID == ObjectIdentifier(self), backend.owns(t.storage), let s = t.storage as? DeviceStorage else {
            throw ComputeError.wrongDevice(op: op)
        }
        return s.memory
    }

    /// Scratch for one op (`bytes`), back in the pool when the op returns; the in-order queue runs
    /// the op's kernels before any later command can reuse it.
    func scratch(_ bytes: Int) throws -> DeviceStorage { try backend.take(bytes) }

    private func allocate(_ shape: [Int], _ dtype: DType, zero: Bool) throws -> Tensor {
        guard shape.allSatisfy({ $0 >= 0 }) else {
            throw ComputeError.shapeMismatch(op: "makeTensor", detail: "negative dimension in \(shape)")
        }
        let count = shape.reduce(1, *)
        // Kernels index with 32-bit ints.
        guard count <= Int(Int32.max) else { throw ComputeError.allocationFailed(bytes: count * dtype.byteSize) }
        lock.lock()
        defer { lock.unlock() }
        try throwIfFailed()
        let b = try backend.take(count * dtype.byteSize)
        if zero && count > 0 { try backend.zero(b.memory, bytes: count * dtype.byteSize) }
        return Tensor(shape: shape, dtype: dtype, storage: b, deviceID: ObjectIdentifier(self))
    }

    public func makeTensor(_ shape: [Int], dtype: DType, zeroed: Bool) throws -> Tensor {
        try allocate(shape, dtype, zero: zeroed)
    }

    public func write(_ values: [Float], to tensor: Tensor) throws {
        guard tensor.dtype == .float32 else { throw ComputeError.wrongDType(op: "write") }
        try writeBytes(values, count: values.count, to: tensor)
    }

    public func write(_ values: [Int32], to tensor: Tensor) throws {
        guard tensor.dtype == .int32 else { throw ComputeError.wrongDType(op: "write") }
        try writeBytes(values, count: values.count, to: tensor)
    }

    /// A blocking write: the host array need not outlive the call, and it lands after every op
    /// enqueued before it.
    private func writeBytes<T: BitwiseCopyable>(_ values: [T], count: Int, to tensor: Tensor) throws {
        guard count == tensor.count else {
            throw ComputeError.shapeMismatch(op: "write", detail: "\(count) values into \(tensor.shape)")
        }
        lock.lock()
        defer { lock.unlock() }
        try throwIfFailed()
        let m = try mem(tensor, "write")
        guard count > 0 else { return }
        try values.withUnsafeBytes { try backend.write($0, to: m, at: 0) }
    }

    public func write(_ values: UnsafeBufferPointer<Float>, to tensor: Tensor, offset: Int) throws {
        guard tensor.dtype == .float32 else { throw ComputeError.wrongDType(op: "write") }
        guard offset >= 0, values.count <= tensor.count - offset else {
            throw ComputeError.shapeMismatch(
                op: "write", detail: "\(values.count) values at element \(offset) of \(tensor.shape)")
        }
        lock.lock()
        defer { lock.unlock() }
        try throwIfFailed()
        let m = try mem(tensor, "write")
        guard values.count > 0 else { return }
        try backend.write(UnsafeRawBufferPointer(values), to: m, at: offset * 4)
    }

    public func download(_ tensor: Tensor, into out: UnsafeMutableBufferPointer<Float>) throws {
        guard tensor.dtype == .float32 else { throw ComputeError.wrongDType(op: "download") }
        guard out.count == tensor.count else {
            throw ComputeError.shapeMismatch(op: "download", detail: "\(tensor.shape) into \(out.count) floats")
        }
        lock.lock()
        defer { lock.unlock() }
        let m = try mem(tensor, "download")
        try throwIfFailed()
        readbacks += 1
        guard tensor.count > 0 else { return }
        try backend.read(m, into: UnsafeMutableRawBufferPointer(out))
    }

    public func download(_ tensor: Tensor) throws -> [Float] {
        guard tensor.dtype == .float32 else { throw ComputeError.wrongDType(op: "download") }
        return try readBytes(tensor, as: Float.self)
    }

    public func downloadInt32(_ tensor: Tensor) throws -> [Int32] {
        guard tensor.dtype == .int32 else { throw ComputeError.wrongDType(op: "download") }
        return try readBytes(tensor, as: Int32.self)
    }

    /// The only device→host path; every call counts as one readback.
    private func readBytes<T: BitwiseCopyable & Numeric>(_ tensor: Tensor, as: T.Type) throws -> [T] {
        lock.lock()
        defer { lock.unlock() }
        let m = try mem(tensor, "download")
        try throwIfFailed()
        readbacks += 1
        var out = [T](repeating: 0, count: tensor.count)
        guard tensor.count > 0 else { return out }
        try out.withUnsafeMutableBytes { try backend.read(m, into: $0) }
        return out
    }

    /// Enqueues `name` over `global` work-items (rounded up to a multiple of `local`; kernels check
    /// bounds). Caller holds `lock`; nothing is launched for an empty range.
    func launch(_ id: ProgramID, _ name: String, global: Int, local: Int = KernelDevice.groupSize, _ args: [KernelArg])
        throws
    {
        guard global > 0 else { return }
        try backend.launch(id, name, global: global, local: local, args)
    }

    /// Fixed row chunks for column sums: partial sums per (chunk, column), then an ordered sum of
    /// the chunks. Depends only on the row count, so results repeat bit for bit.
    static func rowChunks(_ rows: Int) -> (chunks: Int, chunkRows: Int) {
        let chunks = max(1, min(256, (rows + 15) / 16))
        return (chunks, (rows + chunks - 1) / chunks)
    }

    /// Work-groups of a two-stage reduction over n items: fixed for a given n (so sums repeat bit for
    /// bit) and at most one group's worth, so one group combines them.
    static func reductionGroups(_ n: Int) -> Int { max(1, min(groupSize, (n + groupSize - 1) / groupSize)) }
}
