import Foundation
import POYOKernels

/// One CUDA stream on a device's primary context, and what hangs off it: the memory pool, modules
/// and functions, the cuBLAS handle. Used under the owning `CUDADevice`'s lock; every entry point
/// makes the context current first, since calls may come from any thread.
final class CUDAStream: KernelBackend {
    let driver: CUDADriverAPI
    let nvrtc: NVRTCAPI
    let cublas: CUBLASAPI
    let info: CUDADeviceInfo
    let kernelCache: KernelCache
    let context: OpaquePointer?
    let stream: OpaquePointer?
    let blas: OpaquePointer?
    let pool = FreeLists<UInt64>()
    private var modules: [ProgramID: (module: OpaquePointer?, parameters: [String: Int])] = [:]
    private var functions: [String: (function: OpaquePointer?, arguments: Int)] = [:]

    init(
        driver: CUDADriverAPI, nvrtc: NVRTCAPI, cublas: CUBLASAPI, info: CUDADeviceInfo, kernelCache: KernelCache,
        tf32: Bool
    ) throws {
        self.driver = driver
        self.nvrtc = nvrtc
        self.cublas = cublas
        self.info = info
        self.kernelCache = kernelCache
        var dev: Int32 = 0
        try driver.check(driver.cuDeviceGet(&dev, Int32(info.index)), "cuDeviceGet(\(info.index))")
        var ctx: OpaquePointer?
        try driver.check(driver.cuDevicePrimaryCtxRetain(&ctx, dev), "cuDevicePrimaryCtxRetain")
        context = ctx
        try driver.check(driver.cuCtxSetCurrent(ctx), "cuCtxSetCurrent")
        var s: OpaquePointer?
        try driver.check(driver.cuStreamCreate(&s, 0), "cuStreamCreate")
        stream = s
        var h: OpaquePointer?
        try cublas.check(cublas.cublasCreate(&h), "cublasCreate")
        blas = h
        try cublas.check(cublas.cublasSetStream(h, s), "cublasSetStream")
        try cublas.check(
            cublas.cublasSetMathMode(h, tf32 ? CUBLASAPI.tf32TensorOpMath : CUBLASAPI.defaultMath),
            "cublasSetMathMode")
    }

    deinit {
        // Everything this stream made goes back to the driver; the primary context stays retained
        // for the life of the process (other devices on it may come and go).
        _ = driver.cuCtxSetCurrent(context)
        _ = driver.cuStreamSynchronize(stream)
        for p in pool.takeAll() { _ = driver.cuMemFree(p) }
        for m in modules.values { _ = driver.cuModuleUnload(m.module) }
        _ = cublas.cublasDestroy(blas)
        _ = driver.cuStreamDestroy(stream)
    }

    var libraryVersions: String {
        var v: Int32 = 0
        let blasVersion = cublas.cublasGetVersion(blas, &v) == 0 ? "\(v)" : "unknown"
        return "NVRTC \(nvrtc.version), cuBLAS \(blasVersion), driver \(info.driverVersion)"
    }

    private func current() throws { try driver.check(driver.cuCtxSetCurrent(context), "cuCtxSetCurrent") }

    // MARK: memory

    var buffersCreated: Int { pool.createdCount }

    func take(_ bytes: Int) throws -> DeviceStorage {
        let size = SizeClass.bytes(bytes)
        if let p = pool.take(size) { return CUDABuffer(pointer: p, bytes: size, stream: self) }
        try current()
        var p: UInt64 = 0
        var st = driver.cuMemAlloc(&p, size)
        if st == 2 {
            // CUDA_ERROR_OUT_OF_MEMORY: hand the idle pooled blocks back once the stream is idle, retry.
            try driver.check(driver.cuStreamSynchronize(stream), "cuStreamSynchronize")
            for q in pool.takeAll() { _ = driver.cuMemFree(q) }
            st = driver.cuMemAlloc(&p, size)
        }
        try driver.check(st, "cuMemAlloc(\(size) bytes)")
        pool.noteCreated()
        return CUDABuffer(pointer: p, bytes: size, stream: self)
    }

    func recycle(_ pointer: UInt64, bytes: Int) { pool.put(pointer, size: bytes) }

    func owns(_ storage: AnyObject) -> Bool { (storage as? CUDABuffer)?.stream === self }

    func zero(_ memory: DeviceMemory, bytes: Int) throws {
        try current()
        try driver.check(driver.cuMemsetD32Async(UInt64(memory.bits), 0, bytes / 4, stream), "cuMemsetD32Async")
    }

    func write(_ bytes: UnsafeRawBufferPointer, to memory: DeviceMemory, at offset: Int) throws {
        try current()
        try driver.check(
            driver.cuMemcpyHtoDAsync(UInt64(memory.bits) + UInt64(offset), bytes.baseAddress, bytes.count, stream),
            "cuMemcpyHtoDAsync")
        // Pageable host memory: the copy must finish before the caller's array can go away.
        try finish()
    }

    func read(_ memory: DeviceMemory, into bytes: UnsafeMutableRawBufferPointer) throws {
        try current()
        try driver.check(
            driver.cuMemcpyDtoHAsync(bytes.baseAddress, UInt64(memory.bits), bytes.count, stream), "cuMemcpyDtoHAsync")
        try finish()
    }

    func finish() throws {
        try current()
        try driver.check(driver.cuStreamSynchronize(stream), "cuStreamSynchronize")
    }

    // MARK: modules and launches

    func options(_ id: ProgramID) -> [String] { CUDACompiler.options(id, architecture: info.architecture) }

    /// Program `id` as a loaded module with its kernels' parameter counts, compiled (or read from
    /// the kernel cache) once per stream.
    @discardableResult
    func module(_ id: ProgramID) throws -> (module: OpaquePointer?, parameters: [String: Int]) {
        if let m = modules[id] { return m }
        try current()
        let source = try POYOKernels.programSource(id.file, .cuda)
        let options = options(id)
        let key = KernelCache.Key(parts: [source, options.joined(separator: " "), "nvrtc " + nvrtc.version, "cubin"])
        var module: OpaquePointer?
        if let cached = kernelCache.load(key), driver.cuModuleLoadData(&module, cached) == 0 {
            // a cached CUBIN the driver accepts
        } else {
            let cubin = try CUDACompiler.cubin(nvrtc, source: source, name: id.file + ".cl", options: options)
            try driver.check(driver.cuModuleLoadData(&module, cubin), "cuModuleLoadData(\(id.file))")
            kernelCache.store(cubin, for: key)
        }
        let entry = (module, KernelSignatures.parameterCounts(source))
        modules[id] = entry
        return entry
    }

    /// Kernel `name` of program `id` and its parameter count: from the driver where it can say
    /// (cuFuncGetParamInfo, CUDA 12.4+), else from the kernel's signature in the source.
    func function(_ id: ProgramID, _ name: String) throws -> (function: OpaquePointer?, arguments: Int) {
        let key = id.file + "|" + id.defines + "|" + name
        if let f = functions[key] { return f }
        let (module, parameters) = try module(id)
        var f: OpaquePointer?
        try driver.check(driver.cuModuleGetFunction(&f, module, name), "cuModuleGetFunction(\(id.file).\(name))")
        var count = parameters[name] ?? -1
        if let info = driver.cuFuncGetParamInfo {
            // Index by index until the driver says there is no such parameter. A driver that answers
            // nothing at all for a kernel the source gives parameters keeps the source's count.
            var i = 0
            var offset = 0
            var size = 0
            while i < 256, info(f, i, &offset, &size) == 0 { i += 1 }
            if i > 0 || count <= 0 { count = i }
        }
        functions[key] = (f, count)
        return (f, count)
    }

    func launch(_ id: ProgramID, _ name: String, global: Int, local: Int, _ args: [KernelArg]) throws {
        try current()
        let (f, expected) = try function(id, name)
        // A host call that drifted from the kernel's signature fails here, not as garbage results.
        guard args.count == expected else {
            throw KernelSignatureError(kernel: "\(id.file).cl \(name)", expected: expected, given: args.count)
        }
        // One 8-byte slot per argument; the driver copies them at launch.
        let slots = UnsafeMutableRawPointer.allocate(byteCount: max(args.count, 1) * 8, alignment: 8)
        defer { slots.deallocate() }
        var params = [UnsafeMutableRawPointer?](repeating: nil, count: args.count)
        for (i, a) in args.enumerated() {
            let slot = slots + 8 * i
            switch a {
            case .mem(let m): slot.storeBytes(of: UInt64(m?.bits ?? 0), as: UInt64.self)
            case .int(let v): slot.storeBytes(of: v, as: Int32.self)
            case .uint(let v): slot.storeBytes(of: v, as: UInt32.self)
            case .ulong(let v): slot.storeBytes(of: v, as: UInt64.self)
            case .float(let v): slot.storeBytes(of: v, as: Float.self)
            }
            params[i] = slot
        }
        let blocks = (global + local - 1) / local
        let st = params.withUnsafeMutableBufferPointer {
            driver.cuLaunchKernel(f, UInt32(blocks), 1, 1, UInt32(local), 1, 1, 0, stream, $0.baseAddress, nil)
        }
        try driver.check(st, "cuLaunchKernel(\(id.file).\(name), \(blocks) × \(local))")
    }

    // MARK: timing

    /// Two events; the first recorded now on the stream, the second to be recorded by `elapsed`.
    func record() throws -> (OpaquePointer?, OpaquePointer?) {
        try current()
        var start: OpaquePointer?
        var end: OpaquePointer?
        try driver.check(driver.cuEventCreate(&start, 0), "cuEventCreate")
        try driver.check(driver.cuEventCreate(&end, 0), "cuEventCreate")
        try driver.check(driver.cuEventRecord(start, stream), "cuEventRecord")
        return (start, end)
    }

    /// Records `end` now, waits for it, and returns the seconds between the two events.
    func elapsed(from start: OpaquePointer?, to end: OpaquePointer?) throws -> Double {
        try current()
        defer {
            _ = driver.cuEventDestroy(start)
            _ = driver.cuEventDestroy(end)
        }
        try driver.check(driver.cuEventRecord(end, stream), "cuEventRecord")
        try driver.check(driver.cuEventSynchronize(end), "cuEventSynchronize")
        var ms: Float = 0
        try driver.check(driver.cuEventElapsedTime(&ms, start, end), "cuEventElapsedTime")
        return Double(ms) / 1e3
    }

    // MARK: matrix products

    /// Row-major C = op(A)·op(B) is column-major Cᵀ = op(B)ᵀ·op(A)ᵀ: cuBLAS gets B first, with the
    /// same transposes and leading dimensions.
    func sgemm(
        transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
        a: DeviceMemory, aOffset: Int, lda: Int, b: DeviceMemory, bOffset: Int, ldb: Int,
        beta: Float, c: DeviceMemory, cOffset: Int, ldc: Int
    ) throws {
        try current()
        var al = alpha
        var be = beta
        let st = cublas.cublasSgemm(
            blas, transB ? CUBLASAPI.opT : CUBLASAPI.opN, transA ? CUBLASAPI.opT : CUBLASAPI.opN,
            Int32(n), Int32(m), Int32(k), &al, UInt64(b.bits) + UInt64(4 * bOffset), Int32(ldb),
            UInt64(a.bits) + UInt64(4 * aOffset), Int32(lda), &be, UInt64(c.bits) + UInt64(4 * cOffset), Int32(ldc))
        try cublas.check(st, "cublasSgemm(m \(m), n \(n), k \(k), lda \(lda), ldb \(ldb), ldc \(ldc))")
    }
}

/// The storage of a CUDA tensor (and of op scratch): a device pointer that returns to its stream's
/// pool on deinit. Reuse is safe: later commands on the one stream run after earlier ones.
final class CUDABuffer: DeviceStorage, @unchecked Sendable {
    let pointer: UInt64
    let bytes: Int
    let stream: CUDAStream

    init(pointer: UInt64, bytes: Int, stream: CUDAStream) {
        self.pointer = pointer
        self.bytes = bytes
        self.stream = stream
    }

    var memory: DeviceMemory { DeviceMemory(bits: UInt(pointer)) }

    deinit { stream.recycle(pointer, bytes: bytes) }
}
