import Foundation
import _COpenCL

/// The GPU backend: OpenCL kernels compiled at run time from `Kernels/cl/`, CLBlast for matrix products.
///
/// One context per OpenCL device (shared by every `OpenCLDevice` made for it in the process) and one
/// in-order queue per `OpenCLDevice`, with profiling enabled. Ops only enqueue; `download`,
/// `readScalar` and `synchronize` wait for the queue.
///
/// Ops cannot throw (the `Device` protocol), so a failure inside one (a driver error, a tensor of
/// another device) is recorded and thrown by the next call that can throw: `download`, `write`,
/// `upload`, `makeTensor` or `synchronize`. The first failure sticks: later ops are skipped and every
/// throwing call reports it, since the device's buffers are then in an unknown state.
public final class OpenCLDevice: Device, @unchecked Sendable {
    public let info: OpenCLDeviceInfo
    public var name: String { "opencl:\(info.index) (\(info.name), \(info.platformName))" }
    public var kind: DeviceKind { .opencl }

    let context: OpenCLContext
    let queue: cl_command_queue
    let pool: BufferPool
    let kernelCache: KernelCache
    /// Guards everything below and serialises enqueueing (kernel objects hold their arguments).
    let lock = NSRecursiveLock()
    var kernels: [String: cl_kernel] = [:]
    /// Events of the launches made inside `profileKernels`, else nil.
    var profiling: [(String, cl_event)]?
    private var failure: Error?
    private var readbacks = 0

    /// All OpenCL devices of all platforms, in the order `opencl:N` indexes them.
    public static func availableDevices() throws -> [OpenCLDeviceInfo] {
        try OpenCLPlatforms.get().entries.map(\.info)
    }

    /// Device `index` of `availableDevices()`. Builds every kernel family except attention (whose
    /// head-dim variants are built on first use), from the kernel cache where it can.
    public init(index: Int = 0, kernelCache: KernelCache = .fromEnvironment()) throws {
        context = try OpenCLContext.shared(index: index)
        info = context.info
        self.kernelCache = kernelCache
        var err: cl_int = 0
        guard
            let q = clCreateCommandQueue(
                context.context, context.device,
                cl_command_queue_properties(CL_QUEUE_PROFILING_ENABLE), &err),
            err == CL_SUCCESS
        else {
            throw OpenCLError.call("clCreateCommandQueue", status: err)
        }
        queue = q
        pool = BufferPool(context: context)
        for id in ProgramID.fixed { _ = try context.program(id.file, options: options(id), cache: kernelCache) }
    }

    deinit {
        clFinish(queue)
        for k in kernels.values { clReleaseKernel(k) }
        clReleaseCommandQueue(queue)
    }

    public var readbackCount: Int {
        lock.lock()
        defer { lock.unlock() }
        return readbacks
    }

    /// Buffers created so far (the rest came from the pool); flat after a warm-up step.
    public var buffersCreated: Int { pool.createdCount }

    // MARK: failures

    /// Runs one op's enqueueing under the lock; a thrown error is kept for the next throwing call.
    func perform(_ body: () throws -> Void) {
        lock.lock()
        defer { lock.unlock() }
        guard failure == nil else { return }
        do { try body() } catch { failure = error }
    }

    private func throwIfFailed() throws {
        if let failure { throw failure }
    }

    /// Waits for every enqueued op; throws the first failure of any op since the device was made.
    public func synchronize() throws {
        lock.lock()
        defer { lock.unlock() }
        try throwIfFailed()
        try OpenCLError.check(clFinish(queue), "clFinish")
    }

    // MARK: tensors

    /// The buffer behind `t`, which must have been made by this device.
    func mem(_ t: Tensor, _ op: String) throws -> cl_mem {
        guard t.deviceID == ObjectIdentifier(self), let b = t.storage as? OpenCLBuffer, b.pool === pool else {
            throw ComputeError.wrongDevice(op: op)
        }
        return b.mem
    }

    /// Scratch for one op (`bytes`), back in the pool when the op returns; the in-order queue runs
    /// the op's kernels before any later command can reuse it.
    func scratch(_ bytes: Int) throws -> OpenCLBuffer { try pool.take(bytes) }

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
        let b = try pool.take(count * dtype.byteSize)
        if zero && count > 0 {
            var pattern: UInt32 = 0
            try OpenCLError.check(
                clEnqueueFillBuffer(queue, b.mem, &pattern, 4, 0, count * dtype.byteSize, 0, nil, nil),
                "clEnqueueFillBuffer")
        }
        return Tensor(shape: shape, dtype: dtype, storage: b, deviceID: ObjectIdentifier(self))
    }

    public func makeTensor(_ shape: [Int], dtype: DType) throws -> Tensor {
        try allocate(shape, dtype, zero: true)
    }

    public func upload(_ values: [Float], shape: [Int]) throws -> Tensor {
        let t = try allocate(shape, .float32, zero: false)
        try write(values, to: t)
        return t
    }

    public func upload(_ values: [Int32], shape: [Int]) throws -> Tensor {
        let t = try allocate(shape, .int32, zero: false)
        try write(values, to: t)
        return t
    }

    public func write(_ values: [Float], to tensor: Tensor) throws {
        guard tensor.dtype == .float32 else { throw ComputeError.wrongDType(op: "write") }
        try writeBytes(values, count: values.count, to: tensor)
    }

    public func write(_ values: [Int32], to tensor: Tensor) throws {
        guard tensor.dtype == .int32 else { throw ComputeError.wrongDType(op: "write") }
        try writeBytes(values, count: values.count, to: tensor)
    }

    /// A blocking write: the host array need not outlive the call, and in the in-order queue it
    /// lands after every op enqueued before it.
    private func writeBytes<T: BitwiseCopyable>(_ values: [T], count: Int, to tensor: Tensor) throws {
        guard count == tensor.count else {
            throw ComputeError.shapeMismatch(op: "write", detail: "\(count) values into \(tensor.shape)")
        }
        lock.lock()
        defer { lock.unlock() }
        try throwIfFailed()
        let m = try mem(tensor, "write")
        guard count > 0 else { return }
        let st = values.withUnsafeBytes {
            clEnqueueWriteBuffer(queue, m, cl_bool(CL_TRUE), 0, $0.count, $0.baseAddress, 0, nil, nil)
        }
        try OpenCLError.check(st, "clEnqueueWriteBuffer")
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
        let st = out.withUnsafeMutableBytes {
            clEnqueueReadBuffer(queue, m, cl_bool(CL_TRUE), 0, $0.count, $0.baseAddress, 0, nil, nil)
        }
        try OpenCLError.check(st, "clEnqueueReadBuffer")
        return out
    }

    // MARK: tools

    /// Builds arbitrary OpenCL C for this device, through the kernel cache but not the per-process
    /// program registry; a failure throws `OpenCLError.build` with the build log. For tests and
    /// kernel experiments (`poyo-bench`).
    public func buildProgram(source: String, options: String = OpenCLDevice.baseOptions, name: String = "custom") throws
        -> ProgramOrigin
    {
        try OpenCLProgram.build(
            name: name, source: source, options: options, context: context.context,
            device: context.device, info: info, cache: kernelCache
        ).origin
    }

    /// Device time of each kernel launched by `body`, from the queue's profiling events, in launch
    /// order. A matrix product counts as "gemm", timed by the event CLBlast returns for it.
    public func profileKernels(_ body: () throws -> Void) throws -> [(kernel: String, seconds: Double)] {
        lock.lock()
        profiling = []
        lock.unlock()
        defer {
            lock.lock()
            for (_, e) in profiling ?? [] { clReleaseEvent(e) }
            profiling = nil
            lock.unlock()
        }
        try body()
        try synchronize()
        lock.lock()
        defer { lock.unlock() }
        return try (profiling ?? []).map { name, e in
            var start: cl_ulong = 0
            var end: cl_ulong = 0
            try OpenCLError.check(
                clGetEventProfilingInfo(e, cl_profiling_info(CL_PROFILING_COMMAND_START), 8, &start, nil),
                "clGetEventProfilingInfo")
            try OpenCLError.check(
                clGetEventProfilingInfo(e, cl_profiling_info(CL_PROFILING_COMMAND_END), 8, &end, nil),
                "clGetEventProfilingInfo")
            return (name, Double(end &- start) * 1e-9)
        }
    }
}
