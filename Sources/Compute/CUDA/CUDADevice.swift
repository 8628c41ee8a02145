import Foundation
import POYOKernels

/// One CUDA device as `poyo devices` lists it: `index` is the `N` of `--device cuda:N`.
public struct CUDADeviceInfo: Sendable, Equatable {
    public let index: Int
    public let name: String
    public let computeCapability: (major: Int, minor: Int)
    public let multiprocessors: Int
    public let memoryBytes: Int
    /// The driver's CUDA version, e.g. 13000 for 13.0.
    public let driverVersion: Int

    /// "sm_90" for compute capability 9.0: what NVRTC compiles for.
    public var architecture: String { "sm_\(computeCapability.major)\(computeCapability.minor)" }

    public static func == (a: CUDADeviceInfo, b: CUDADeviceInfo) -> Bool {
        a.index == b.index && a.name == b.name && a.computeCapability == b.computeCapability
            && a.multiprocessors == b.multiprocessors && a.memoryBytes == b.memoryBytes
            && a.driverVersion == b.driverVersion
    }
}

/// The NVIDIA libraries, opened once per process: the driver and its device list at first use,
/// NVRTC and cuBLAS when a `CUDADevice` is made. Each keeps its first failure.
enum CUDARuntime {
    struct Driver: @unchecked Sendable {
        let api: CUDADriverAPI
        let devices: [CUDADeviceInfo]
    }

    static let driver: Result<Driver, Error> = Result {
        try load(CUDADriverAPI(try CUDALibraries.open(CUDALibraries.driver)))
    }

    /// Initialises the driver behind `api` and lists its devices.
    static func load(_ api: CUDADriverAPI) throws -> Driver {
        let status = api.cuInit(0)
        // CUDA_ERROR_NO_DEVICE: a driver without GPUs is an empty list, not a failure.
        if status == 100 { return Driver(api: api, devices: []) }
        try api.check(status, "cuInit")
        var version: Int32 = 0
        try api.check(api.cuDriverGetVersion(&version), "cuDriverGetVersion")
        var count: Int32 = 0
        try api.check(api.cuDeviceGetCount(&count), "cuDeviceGetCount")
        var devices: [CUDADeviceInfo] = []
        for i in 0..<count {
            var dev: Int32 = 0
            try api.check(api.cuDeviceGet(&dev, i), "cuDeviceGet(\(i))")
            var name = [CChar](repeating: 0, count: 256)
            try api.check(api.cuDeviceGetName(&name, 255, dev), "cuDeviceGetName")
            func attribute(_ a: Int32) throws -> Int {
                var v: Int32 = 0
                try api.check(api.cuDeviceGetAttribute(&v, a, dev), "cuDeviceGetAttribute(\(a))")
                return Int(v)
            }
            var bytes = 0
            try api.check(api.cuDeviceTotalMem(&bytes, dev), "cuDeviceTotalMem")
            devices.append(
                CUDADeviceInfo(
                    index: Int(i), name: String(cString: name),
                    computeCapability: (
                        try attribute(CUDADriverAPI.attributeComputeCapabilityMajor),
                        try attribute(CUDADriverAPI.attributeComputeCapabilityMinor)
                    ),
                    multiprocessors: try attribute(CUDADriverAPI.attributeMultiprocessorCount),
                    memoryBytes: bytes, driverVersion: Int(version)))
        }
        return Driver(api: api, devices: devices)
    }

    static let nvrtc: Result<NVRTCAPI, Error> = Result { try NVRTCAPI(try CUDALibraries.open(CUDALibraries.nvrtc)) }
    static let cublas: Result<CUBLASAPI, Error> = Result {
        try CUBLASAPI(try CUDALibraries.open(CUDALibraries.cublas))
    }
}

/// The CUDA backend: the same kernels as OpenCL (`Kernels/cl/`, compiled as CUDA C++ by NVRTC for
/// the GPU's architecture, cached on disk like OpenCL binaries), cuBLAS for matrix products (TF32
/// off unless asked for), memory from a size-class pool of `cuMemAlloc` blocks, one stream.
/// libcuda, libnvrtc and libcublas are opened at run time (`CUDALibraries`); the ops are
/// `KernelDevice`'s, shared with OpenCL.
public final class CUDADevice: KernelDevice, @unchecked Sendable {
    public let info: CUDADeviceInfo
    let stream: CUDAStream

    /// Every CUDA device the driver reports, or `CUDAError.libraryNotFound` without a driver.
    public static func availableDevices() throws -> [CUDADeviceInfo] { try CUDARuntime.driver.get().devices }

    /// The other two libraries a CUDA device needs, as `poyo devices` reports them: NVRTC's
    /// version and path, cuBLAS's path, or why each is unavailable.
    public static func libraries() -> [(name: String, found: String?, problem: String?)] {
        var out: [(String, String?, String?)] = []
        switch CUDARuntime.nvrtc {
        case .success(let api): out.append(("nvrtc", "NVRTC \(api.version) (\(api.library.path))", nil))
        case .failure(let error): out.append(("nvrtc", nil, "\(error)"))
        }
        switch CUDARuntime.cublas {
        case .success(let api): out.append(("cublas", api.library.path, nil))
        case .failure(let error): out.append(("cublas", nil, "\(error)"))
        }
        return out
    }

    /// Device `index`. Builds every kernel family except attention (built per head dim on first use).
    /// - Parameter tf32: let cuBLAS use TF32 tensor cores (faster, ~1e-3 relative error); default
    ///   from `POYO_CUDA_TF32=1`, else off so results match the other backends.
    public convenience init(
        index: Int = 0, kernelCache: KernelCache = .fromEnvironment(),
        tf32: Bool = ProcessInfo.processInfo.environment["POYO_CUDA_TF32"] == "1"
    ) throws {
        try self.init(
            driver: try CUDARuntime.driver.get(), nvrtc: try CUDARuntime.nvrtc.get(),
            cublas: try CUDARuntime.cublas.get(),
            index: index, kernelCache: kernelCache, tf32: tf32)
    }

    /// A device of explicitly loaded libraries (the tests' stand-in driver).
    init(
        driver: CUDARuntime.Driver, nvrtc: NVRTCAPI, cublas: CUBLASAPI, index: Int, kernelCache: KernelCache,
        tf32: Bool
    ) throws {
        guard !driver.devices.isEmpty else { throw CUDAError.noDevice }
        guard index >= 0, index < driver.devices.count else {
            throw CUDAError.noSuchDevice(index: index, available: driver.devices.count)
        }
        info = driver.devices[index]
        stream = try CUDAStream(
            driver: driver.api, nvrtc: nvrtc, cublas: cublas, info: info, kernelCache: kernelCache, tf32: tf32)
        super.init(
            name: "cuda:\(info.index) (\(info.name), \(info.architecture)\(tf32 ? ", TF32" : ""))", kind: .cuda,
            backend: stream)
        for id in ProgramID.fixed { _ = try stream.module(id) }
    }

    /// For a communication library (NCCL): `body` gets the device's stream and each tensor's device
    /// address, with the device's lock held so no op is enqueued in between. Tensors of another
    /// device are an error.
    public func withStream<R>(
        _ tensors: [Tensor],
        _ body: (_ stream: UnsafeMutableRawPointer?, _ addresses: [UnsafeMutableRawPointer?]) throws -> R
    ) throws -> R {
        let addresses = try tensors.map { t -> UnsafeMutableRawPointer? in
            guard t.deviceID == ObjectIdentifier(self), let b = t.storage as? CUDABuffer, b.stream === stream else {
                throw CUDAError.call("withStream", status: -1, message: "a tensor of another device given to \(name)")
            }
            return UnsafeMutableRawPointer(bitPattern: UInt(b.pointer))
        }
        lock.lock()
        defer { lock.unlock() }
        return try body(UnsafeMutableRawPointer(stream.stream), addresses)
    }

    /// NVRTC's version ("12.9") and cuBLAS's, for reports.
    public var libraryVersions: String { stream.libraryVersions }

    /// GPU time of the work `body` enqueues, between two events on the stream (`poyo-bench`).
    public func deviceSeconds(_ body: () throws -> Void) throws -> Double {
        try synchronize()
        lock.lock()
        let (start, end) = try stream.record()
        lock.unlock()
        try body()
        lock.lock()
        defer { lock.unlock() }
        return try stream.elapsed(from: start, to: end)
    }
}
