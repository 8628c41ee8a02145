import Foundation
import POYOKernels
import _COpenCL

/// Where a built program came from.
public enum ProgramOrigin: Sendable, Equatable {
    /// Compiled from source (and stored in the kernel cache, if on).
    case source
    /// Loaded from a kernel-cache entry.
    case cache
}

/// A built `cl_program`, released with this object.
final class OpenCLProgram: @unchecked Sendable {
    let handle: cl_program
    let name: String
    let origin: ProgramOrigin

    init(handle: cl_program, name: String, origin: ProgramOrigin) {
        self.handle = handle
        self.name = name
        self.origin = origin
    }

    deinit { clReleaseProgram(handle) }

    /// Builds `source` for `device`: from the kernel cache when it holds a valid entry that the driver
    /// accepts, else from source (storing the binary). A failed source build throws its build log.
    static func build(
        name: String, source: String, options: String, context: cl_context, device: cl_device_id,
        info: OpenCLDeviceInfo, cache: KernelCache
    ) throws -> OpenCLProgram {
        let key = KernelCache.Key(source: source, options: options, device: info)
        if let binary = cache.load(key),
            let program = fromBinary(binary, options: options, context: context, device: device)
        {
            return OpenCLProgram(handle: program, name: name, origin: .cache)
        }
        let program = try fromSource(name: name, source: source, options: options, context: context, device: device)
        if cache.directory != nil, let binary = try? binaryOf(program) { cache.store(binary, for: key) }
        return OpenCLProgram(handle: program, name: name, origin: .source)
    }

    /// nil when the driver rejects the binary or its build: the caller then compiles from source.
    private static func fromBinary(_ binary: [UInt8], options: String, context: cl_context, device: cl_device_id)
        -> cl_program?
    {
        var dev: cl_device_id? = device
        var status: cl_int = 0
        var err: cl_int = 0
        let program: cl_program? = binary.withUnsafeBufferPointer { bp in
            var length = bp.count
            var pointer: UnsafePointer<UInt8>? = bp.baseAddress
            return clCreateProgramWithBinary(context, 1, &dev, &length, &pointer, &status, &err)
        }
        guard let program, err == CL_SUCCESS, status == CL_SUCCESS else {
            if let program { clReleaseProgram(program) }
            return nil
        }
        guard clBuildProgram(program, 1, &dev, options, nil, nil) == CL_SUCCESS else {
            clReleaseProgram(program)
            return nil
        }
        return program
    }

    private static func fromSource(
        name: String, source: String, options: String, context: cl_context,
        device: cl_device_id
    ) throws -> cl_program {
        var err: cl_int = 0
        let created: cl_program? = source.withCString { cs in
            var pointer: UnsafePointer<CChar>? = cs
            var length = strlen(cs)
            return clCreateProgramWithSource(context, 1, &pointer, &length, &err)
        }
        guard let program = created, err == CL_SUCCESS else {
            if let created { clReleaseProgram(created) }
            throw OpenCLError.call("clCreateProgramWithSource(\(name))", status: err)
        }
        var dev: cl_device_id? = device
        let st = clBuildProgram(program, 1, &dev, options, nil, nil)
        if st != CL_SUCCESS {
            let log = (try? buildLog(program, device)) ?? "(no build log)"
            clReleaseProgram(program)
            throw OpenCLError.build(program: name, status: st, log: log)
        }
        return program
    }

    static func buildLog(_ program: cl_program, _ device: cl_device_id) throws -> String {
        try clString("clGetProgramBuildInfo(CL_PROGRAM_BUILD_LOG)") {
            clGetProgramBuildInfo(program, device, cl_program_build_info(CL_PROGRAM_BUILD_LOG), $0, $1, $2)
        }
    }

    /// The program's binary for its (single) device.
    private static func binaryOf(_ program: cl_program) throws -> [UInt8] {
        var size = 0
        try OpenCLError.check(
            clGetProgramInfo(program, cl_program_info(CL_PROGRAM_BINARY_SIZES), MemoryLayout<Int>.size, &size, nil),
            "clGetProgramInfo(CL_PROGRAM_BINARY_SIZES)")
        guard size > 0 else { return [] }
        var binary = [UInt8](repeating: 0, count: size)
        try binary.withUnsafeMutableBufferPointer { bp in
            var pointer: UnsafeMutablePointer<UInt8>? = bp.baseAddress
            try OpenCLError.check(
                clGetProgramInfo(
                    program, cl_program_info(CL_PROGRAM_BINARIES),
                    MemoryLayout<UnsafeMutablePointer<UInt8>?>.size, &pointer, nil),
                "clGetProgramInfo(CL_PROGRAM_BINARIES)")
        }
        return binary
    }
}

/// One context per OpenCL device per process, shared by every `OpenCLDevice` made for that device:
/// programs are built once per process, and so are CLBlast's kernels (CLBlast caches per context).
final class OpenCLContext: @unchecked Sendable {
    let device: cl_device_id
    let context: cl_context
    let info: OpenCLDeviceInfo

    private let lock = NSLock()
    private var programs: [String: OpenCLProgram] = [:]

    private static let registryLock = NSLock()
    nonisolated(unsafe) private static var registry: [Int: OpenCLContext] = [:]

    private init(device: cl_device_id, info: OpenCLDeviceInfo) throws {
        var err: cl_int = 0
        var dev: cl_device_id? = device
        guard let ctx = clCreateContext(nil, 1, &dev, nil, nil, &err), err == CL_SUCCESS else {
            throw OpenCLError.call("clCreateContext(\(info.name))", status: err)
        }
        self.device = device
        self.context = ctx
        self.info = info
    }

    /// The context of device `index` of the flat list (see `OpenCLDevice.availableDevices`).
    static func shared(index: Int) throws -> OpenCLContext {
        let entries = try OpenCLPlatforms.get().entries
        guard !entries.isEmpty else { throw OpenCLError.noDevice }
        guard entries.indices.contains(index) else {
            throw OpenCLError.noSuchDevice(index: index, available: entries.count)
        }
        registryLock.lock()
        defer { registryLock.unlock() }
        if let c = registry[index] { return c }
        let c = try OpenCLContext(device: entries[index].device, info: entries[index].info)
        registry[index] = c
        return c
    }

    /// Kernel family `name` (`Kernels/cl/<name>.cl` after `prelude_opencl.h` and `common.cl`) built with
    /// `options`, once per process.
    func program(_ name: String, options: String, cache: KernelCache) throws -> OpenCLProgram {
        lock.lock()
        defer { lock.unlock() }
        let id = name + "|" + options
        if let p = programs[id] { return p }
        let source = try POYOKernels.programSource(name, .openCL)
        let p = try OpenCLProgram.build(
            name: name, source: source, options: options, context: context, device: device,
            info: info, cache: cache)
        programs[id] = p
        return p
    }
}
