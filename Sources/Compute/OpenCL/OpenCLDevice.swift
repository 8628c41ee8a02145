import Foundation
import _COpenCL

/// The OpenCL backend: the kernels of `Kernels/cl/` compiled at run time, CLBlast for matrix
/// products. The ops themselves are `KernelDevice`'s, shared with CUDA; this file holds what is
/// OpenCL's own: the queue, memory, kernel objects and launches (`OpenCLQueue`), device listing,
/// and the tools `poyo-bench` and the tests use (`buildProgram`, `profileKernels`).
///
/// One context per OpenCL device (shared by every `OpenCLDevice` made for it in the process) and one
/// in-order queue per `OpenCLDevice`, with profiling enabled. Ops only enqueue; `download`,
/// `readScalar` and `synchronize` wait for the queue.
public final class OpenCLDevice: KernelDevice, @unchecked Sendable {
    public let info: OpenCLDeviceInfo
    let queue: OpenCLQueue

    /// Build options shared by every program.
    public static let baseOptions = "-cl-std=CL1.2 -D WG=\(KernelDevice.groupSize)"

    /// All OpenCL devices of all platforms, in the order `opencl:N` indexes them.
    public static func availableDevices() throws -> [OpenCLDeviceInfo] {
        try OpenCLPlatforms.get().entries.map(\.info)
    }

    /// Device `index` of `availableDevices()`. Builds every kernel family except attention (whose
    /// head-dim variants are built on first use), from the kernel cache where it can.
    public init(index: Int = 0, kernelCache: KernelCache = .fromEnvironment()) throws {
        let context = try OpenCLContext.shared(index: index)
        info = context.info
        queue = try OpenCLQueue(context: context, kernelCache: kernelCache)
        super.init(
            name: "opencl:\(context.info.index) (\(context.info.name), \(context.info.platformName))", kind: .opencl,
            backend: queue)
        for id in ProgramID.fixed { _ = try queue.program(id) }
    }

    // MARK: tools

    /// Builds arbitrary OpenCL C for this device, through the kernel cache but not the per-process
    /// program registry; a failure throws `OpenCLError.build` with the build log. For tests and
    /// kernel experiments (`poyo-bench`).
    public func buildProgram(source: String, options: String = OpenCLDevice.baseOptions, name: String = "custom") throws
        -> ProgramOrigin
    {
        try OpenCLProgram.build(
            name: name, source: source, options: options, context: queue.context.context,
            device: queue.context.device, info: info, cache: queue.kernelCache
        ).origin
    }

    /// Device time of each kernel launched by `body`, from the queue's profiling events, in launch
    /// order. A matrix product counts as "gemm", timed by the event CLBlast returns for it.
    public func profileKernels(_ body: () throws -> Void) throws -> [(kernel: String, seconds: Double)] {
        lock.lock()
        queue.profiling = []
        lock.unlock()
        defer {
            lock.lock()
            for (_, e) in queue.profiling ?? [] { clReleaseEvent(e) }
            queue.profiling = nil
            lock.unlock()
        }
        try body()
        try synchronize()
        lock.lock()
        defer { lock.unlock() }
        return try (queue.profiling ?? []).map { name, e in
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

/// One in-order OpenCL command queue and what hangs off it: the buffer pool, kernel objects (one
/// set per queue, since kernel objects carry their arguments) and, inside `profileKernels`, the
/// launches' events. Used under the owning device's lock.
final class OpenCLQueue: KernelBackend {
    let context: OpenCLContext
    let queue: cl_command_queue
    let pool: BufferPool
    let kernelCache: KernelCache
    var kernels: [String: (kernel: cl_kernel, arguments: Int)] = [:]
    /// Events of the launches made inside `profileKernels`, else nil.
    var profiling: [(String, cl_event)]?

    init(context: OpenCLContext, kernelCache: KernelCache) throws {
        self.context = context
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
    }

    deinit {
        clFinish(queue)
        for k in kernels.values { clReleaseKernel(k.kernel) }
        clReleaseCommandQueue(queue)
    }

    var buffersCreated: Int { pool.createdCount }

    static func mem(_ m: DeviceMemory?) -> cl_mem? { m.flatMap { OpaquePointer(bitPattern: $0.bits) } }

    func take(_ bytes: Int) throws -> DeviceStorage { try pool.take(bytes) }

    func owns(_ storage: AnyObject) -> Bool { (storage as? OpenCLBuffer)?.pool === pool }

    func zero(_ memory: DeviceMemory, bytes: Int) throws {
        var pattern: UInt32 = 0
        try OpenCLError.check(
            clEnqueueFillBuffer(queue, Self.mem(memory), &pattern, 4, 0, bytes, 0, nil, nil), "clEnqueueFillBuffer")
    }

    func write(_ bytes: UnsafeRawBufferPointer, to memory: DeviceMemory, at offset: Int) throws {
        let st = clEnqueueWriteBuffer(
            queue, Self.mem(memory), cl_bool(CL_TRUE), offset, bytes.count, bytes.baseAddress, 0, nil, nil)
        try OpenCLError.check(st, "clEnqueueWriteBuffer")
    }

    func read(_ memory: DeviceMemory, into bytes: UnsafeMutableRawBufferPointer) throws {
        let st = clEnqueueReadBuffer(
            queue, Self.mem(memory), cl_bool(CL_TRUE), 0, bytes.count, bytes.baseAddress, 0, nil, nil)
        try OpenCLError.check(st, "clEnqueueReadBuffer")
    }

    func finish() throws { try OpenCLError.check(clFinish(queue), "clFinish") }
}
