import Foundation

// The C entry points the CUDA backend uses, as Swift function types, loaded with dlsym
// (CUDALibraries). Handles are opaque pointers; a device pointer (CUdeviceptr) is a UInt64.
// Signatures follow cuda.h, nvrtc.h and cublas_api.h (the _v2 names are what the headers' macros
// resolve to).

typealias CUresult = Int32

/// The CUDA driver API: devices, the primary context, a stream, modules, launches, memory, events.
struct CUDADriverAPI: @unchecked Sendable {
    let library: CUDALibraries.Handle
    let cuInit: @convention(c) (UInt32) -> CUresult
    let cuDriverGetVersion: @convention(c) (UnsafeMutablePointer<Int32>) -> CUresult
    let cuDeviceGetCount: @convention(c) (UnsafeMutablePointer<Int32>) -> CUresult
    let cuDeviceGet: @convention(c) (UnsafeMutablePointer<Int32>, Int32) -> CUresult
    let cuDeviceGetName: @convention(c) (UnsafeMutablePointer<CChar>, Int32, Int32) -> CUresult
    let cuDeviceGetAttribute: @convention(c) (UnsafeMutablePointer<Int32>, Int32, Int32) -> CUresult
    let cuDeviceTotalMem: @convention(c) (UnsafeMutablePointer<Int>, Int32) -> CUresult
    let cuDevicePrimaryCtxRetain: @convention(c) (UnsafeMutablePointer<OpaquePointer?>, Int32) -> CUresult
    let cuCtxSetCurrent: @convention(c) (OpaquePointer?) -> CUresult
    let cuStreamCreate: @convention(c) (UnsafeMutablePointer<OpaquePointer?>, UInt32) -> CUresult
    let cuStreamSynchronize: @convention(c) (OpaquePointer?) -> CUresult
    let cuStreamDestroy: @convention(c) (OpaquePointer?) -> CUresult
    let cuModuleLoadData: @convention(c) (UnsafeMutablePointer<OpaquePointer?>, UnsafeRawPointer) -> CUresult
    let cuModuleUnload: @convention(c) (OpaquePointer?) -> CUresult
    let cuModuleGetFunction:
        @convention(c) (UnsafeMutablePointer<OpaquePointer?>, OpaquePointer?, UnsafePointer<CChar>) -> CUresult
    /// CUDA 12.4 and later drivers: a kernel's parameter count, queried index by index.
    let cuFuncGetParamInfo:
        (@convention(c) (OpaquePointer?, Int, UnsafeMutablePointer<Int>?, UnsafeMutablePointer<Int>?) -> CUresult)?
    let cuLaunchKernel:
        @convention(c) (
            OpaquePointer?, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, OpaquePointer?,
            UnsafeMutablePointer<UnsafeMutableRawPointer?>?, UnsafeMutablePointer<UnsafeMutableRawPointer?>?
        ) -> CUresult
    let cuMemAlloc: @convention(c) (UnsafeMutablePointer<UInt64>, Int) -> CUresult
    let cuMemFree: @convention(c) (UInt64) -> CUresult
    let cuMemcpyHtoDAsync: @convention(c) (UInt64, UnsafeRawPointer?, Int, OpaquePointer?) -> CUresult
    let cuMemcpyDtoHAsync: @convention(c) (UnsafeMutableRawPointer?, UInt64, Int, OpaquePointer?) -> CUresult
    let cuMemsetD32Async: @convention(c) (UInt64, UInt32, Int, OpaquePointer?) -> CUresult
    let cuGetErrorName: @convention(c) (CUresult, UnsafeMutablePointer<UnsafePointer<CChar>?>) -> CUresult
    let cuEventCreate: @convention(c) (UnsafeMutablePointer<OpaquePointer?>, UInt32) -> CUresult
    let cuEventRecord: @convention(c) (OpaquePointer?, OpaquePointer?) -> CUresult
    let cuEventSynchronize: @convention(c) (OpaquePointer?) -> CUresult
    let cuEventElapsedTime: @convention(c) (UnsafeMutablePointer<Float>, OpaquePointer?, OpaquePointer?) -> CUresult
    let cuEventDestroy: @convention(c) (OpaquePointer?) -> CUresult

    // cuda.h's CUdevice_attribute values used here.
    static let attributeMultiprocessorCount: Int32 = 16
    static let attributeComputeCapabilityMajor: Int32 = 75
    static let attributeComputeCapabilityMinor: Int32 = 76

    init(_ h: CUDALibraries.Handle) throws {
        library = h
        cuInit = try CUDALibraries.symbol(h, "cuInit", as: type(of: cuInit))
        cuDriverGetVersion = try CUDALibraries.symbol(h, "cuDriverGetVersion", as: type(of: cuDriverGetVersion))
        cuDeviceGetCount = try CUDALibraries.symbol(h, "cuDeviceGetCount", as: type(of: cuDeviceGetCount))
        cuDeviceGet = try CUDALibraries.symbol(h, "cuDeviceGet", as: type(of: cuDeviceGet))
        cuDeviceGetName = try CUDALibraries.symbol(h, "cuDeviceGetName", as: type(of: cuDeviceGetName))
        cuDeviceGetAttribute = try CUDALibraries.symbol(h, "cuDeviceGetAttribute", as: type(of: cuDeviceGetAttribute))
        cuDeviceTotalMem = try CUDALibraries.symbol(h, "cuDeviceTotalMem_v2", as: type(of: cuDeviceTotalMem))
        cuDevicePrimaryCtxRetain = try CUDALibraries.symbol(
            h, "cuDevicePrimaryCtxRetain", as: type(of: cuDevicePrimaryCtxRetain))
        cuCtxSetCurrent = try CUDALibraries.symbol(h, "cuCtxSetCurrent", as: type(of: cuCtxSetCurrent))
        cuStreamCreate = try CUDALibraries.symbol(h, "cuStreamCreate", as: type(of: cuStreamCreate))
        cuStreamSynchronize = try CUDALibraries.symbol(h, "cuStreamSynchronize", as: type(of: cuStreamSynchronize))
        cuStreamDestroy = try CUDALibraries.symbol(h, "cuStreamDestroy_v2", as: type(of: cuStreamDestroy))
        cuModuleLoadData = try CUDALibraries.symbol(h, "cuModuleLoadData", as: type(of: cuModuleLoadData))
        cuModuleUnload = try CUDALibraries.symbol(h, "cuModuleUnload", as: type(of: cuModuleUnload))
        cuModuleGetFunction = try CUDALibraries.symbol(h, "cuModuleGetFunction", as: type(of: cuModuleGetFunction))
        cuFuncGetParamInfo = CUDALibraries.optionalSymbol(
            h, "cuFuncGetParamInfo",
            as: (@convention(c) (OpaquePointer?, Int, UnsafeMutablePointer<Int>?, UnsafeMutablePointer<Int>?) ->
                CUresult)
                .self)
        cuLaunchKernel = try CUDALibraries.symbol(h, "cuLaunchKernel", as: type(of: cuLaunchKernel))
        cuMemAlloc = try CUDALibraries.symbol(h, "cuMemAlloc_v2", as: type(of: cuMemAlloc))
        cuMemFree = try CUDALibraries.symbol(h, "cuMemFree_v2", as: type(of: cuMemFree))
        cuMemcpyHtoDAsync = try CUDALibraries.symbol(h, "cuMemcpyHtoDAsync_v2", as: type(of: cuMemcpyHtoDAsync))
        cuMemcpyDtoHAsync = try CUDALibraries.symbol(h, "cuMemcpyDtoHAsync_v2", as: type(of: cuMemcpyDtoHAsync))
        cuMemsetD32Async = try CUDALibraries.symbol(h, "cuMemsetD32Async", as: type(of: cuMemsetD32Async))
        cuGetErrorName = try CUDALibraries.symbol(h, "cuGetErrorName", as: type(of: cuGetErrorName))
        cuEventCreate = try CUDALibraries.symbol(h, "cuEventCreate", as: type(of: cuEventCreate))
        cuEventRecord = try CUDALibraries.symbol(h, "cuEventRecord", as: type(of: cuEventRecord))
        cuEventSynchronize = try CUDALibraries.symbol(h, "cuEventSynchronize", as: type(of: cuEventSynchronize))
        cuEventElapsedTime = try CUDALibraries.symbol(h, "cuEventElapsedTime", as: type(of: cuEventElapsedTime))
        cuEventDestroy = try CUDALibraries.symbol(h, "cuEventDestroy_v2", as: type(of: cuEventDestroy))
    }

    /// Throws `CUDAError.call` unless `status` is CUDA_SUCCESS.
    func check(_ status: CUresult, _ call: @autoclosure () -> String) throws {
        guard status != 0 else { return }
        var name: UnsafePointer<CChar>?
        let message = cuGetErrorName(status, &name) == 0 && name != nil ? String(cString: name!) : "CUDA error"
        throw CUDAError.call(call(), status: status, message: message)
    }
}

/// NVRTC: CUDA C++ source to a CUBIN (or PTX) for one GPU architecture.
struct NVRTCAPI: @unchecked Sendable {
    let library: CUDALibraries.Handle
    let nvrtcVersion: @convention(c) (UnsafeMutablePointer<Int32>, UnsafeMutablePointer<Int32>) -> Int32
    let nvrtcCreateProgram:
        @convention(c) (
            UnsafeMutablePointer<OpaquePointer?>, UnsafePointer<CChar>, UnsafePointer<CChar>?, Int32,
            UnsafePointer<UnsafePointer<CChar>?>?, UnsafePointer<UnsafePointer<CChar>?>?
        ) -> Int32
    let nvrtcCompileProgram: @convention(c) (OpaquePointer?, Int32, UnsafePointer<UnsafePointer<CChar>?>?) -> Int32
    let nvrtcGetProgramLogSize: @convention(c) (OpaquePointer?, UnsafeMutablePointer<Int>) -> Int32
    let nvrtcGetProgramLog: @convention(c) (OpaquePointer?, UnsafeMutablePointer<CChar>) -> Int32
    let nvrtcGetCUBINSize: @convention(c) (OpaquePointer?, UnsafeMutablePointer<Int>) -> Int32
    let nvrtcGetCUBIN: @convention(c) (OpaquePointer?, UnsafeMutablePointer<CChar>) -> Int32
    let nvrtcDestroyProgram: @convention(c) (UnsafeMutablePointer<OpaquePointer?>) -> Int32
    let nvrtcGetErrorString: @convention(c) (Int32) -> UnsafePointer<CChar>?

    init(_ h: CUDALibraries.Handle) throws {
        library = h
        nvrtcVersion = try CUDALibraries.symbol(h, "nvrtcVersion", as: type(of: nvrtcVersion))
        nvrtcCreateProgram = try CUDALibraries.symbol(h, "nvrtcCreateProgram", as: type(of: nvrtcCreateProgram))
        nvrtcCompileProgram = try CUDALibraries.symbol(h, "nvrtcCompileProgram", as: type(of: nvrtcCompileProgram))
        nvrtcGetProgramLogSize = try CUDALibraries.symbol(
            h, "nvrtcGetProgramLogSize", as: type(of: nvrtcGetProgramLogSize))
        nvrtcGetProgramLog = try CUDALibraries.symbol(h, "nvrtcGetProgramLog", as: type(of: nvrtcGetProgramLog))
        nvrtcGetCUBINSize = try CUDALibraries.symbol(h, "nvrtcGetCUBINSize", as: type(of: nvrtcGetCUBINSize))
        nvrtcGetCUBIN = try CUDALibraries.symbol(h, "nvrtcGetCUBIN", as: type(of: nvrtcGetCUBIN))
        nvrtcDestroyProgram = try CUDALibraries.symbol(h, "nvrtcDestroyProgram", as: type(of: nvrtcDestroyProgram))
        nvrtcGetErrorString = try CUDALibraries.symbol(h, "nvrtcGetErrorString", as: type(of: nvrtcGetErrorString))
    }

    var version: String {
        var major: Int32 = 0
        var minor: Int32 = 0
        return nvrtcVersion(&major, &minor) == 0 ? "\(major).\(minor)" : "unknown"
    }

    func check(_ status: Int32, _ call: @autoclosure () -> String) throws {
        guard status != 0 else { return }
        let message = nvrtcGetErrorString(status).map { String(cString: $0) } ?? "NVRTC error"
        throw CUDAError.call(call(), status: status, message: message)
    }
}

/// cuBLAS (the v2 API): SGEMM on our stream.
struct CUBLASAPI: @unchecked Sendable {
    let library: CUDALibraries.Handle
    let cublasCreate: @convention(c) (UnsafeMutablePointer<OpaquePointer?>) -> Int32
    let cublasDestroy: @convention(c) (OpaquePointer?) -> Int32
    let cublasSetStream: @convention(c) (OpaquePointer?, OpaquePointer?) -> Int32
    let cublasSetMathMode: @convention(c) (OpaquePointer?, Int32) -> Int32
    let cublasGetVersion: @convention(c) (OpaquePointer?, UnsafeMutablePointer<Int32>) -> Int32
    let cublasSgemm:
        @convention(c) (
            OpaquePointer?, Int32, Int32, Int32, Int32, Int32, UnsafePointer<Float>, UInt64, Int32, UInt64, Int32,
            UnsafePointer<Float>, UInt64, Int32
        ) -> Int32

    // cublas_api.h values.
    static let opN: Int32 = 0
    static let opT: Int32 = 1
    /// No TF32: full float32 products, so results match the other backends.
    static let defaultMath: Int32 = 0
    static let tf32TensorOpMath: Int32 = 3

    init(_ h: CUDALibraries.Handle) throws {
        library = h
        cublasCreate = try CUDALibraries.symbol(h, "cublasCreate_v2", as: type(of: cublasCreate))
        cublasDestroy = try CUDALibraries.symbol(h, "cublasDestroy_v2", as: type(of: cublasDestroy))
        cublasSetStream = try CUDALibraries.symbol(h, "cublasSetStream_v2", as: type(of: cublasSetStream))
        cublasSetMathMode = try CUDALibraries.symbol(h, "cublasSetMathMode", as: type(of: cublasSetMathMode))
        cublasGetVersion = try CUDALibraries.symbol(h, "cublasGetVersion_v2", as: type(of: cublasGetVersion))
        cublasSgemm = try CUDALibraries.symbol(h, "cublasSgemm_v2", as: type(of: cublasSgemm))
    }

    func check(_ status: Int32, _ call: @autoclosure () -> String) throws {
        guard status != 0 else { return }
        throw CUDAError.call(call(), status: status, message: "cuBLAS status \(status)")
    }
}
