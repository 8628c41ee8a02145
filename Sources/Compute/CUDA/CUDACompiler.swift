import Foundation

/// Kernel families to CUBINs through NVRTC. Needs no GPU or driver, only libnvrtc: the tests run it
/// in CI with NVRTC from NVIDIA's PyPI wheel (`ci/cuda-compile-check.sh` fetches it).
enum CUDACompiler {
    /// NVRTC options for program `id`: the GPU's architecture ("sm_90": a CUBIN, so no PTX JIT and
    /// no PTX version newer than the driver), the work-group size and the program's defines.
    static func options(_ id: ProgramID, architecture: String) -> [String] {
        ["--gpu-architecture=\(architecture)", "-DWG=\(KernelDevice.groupSize)"]
            + id.defineList.map { "-D\($0.0)=\($0.1)" }
    }

    /// CUDA C++ to a CUBIN; a failure throws `CUDAError.compile` with NVRTC's log.
    static func cubin(_ nvrtc: NVRTCAPI, source: String, name: String, options: [String]) throws -> [UInt8] {
        var program: OpaquePointer?
        try nvrtc.check(nvrtc.nvrtcCreateProgram(&program, source, name, 0, nil, nil), "nvrtcCreateProgram(\(name))")
        defer { _ = nvrtc.nvrtcDestroyProgram(&program) }
        let cOptions = options.map { strdup($0) }
        defer {
            for o in cOptions { free(o) }
        }
        let status = cOptions.map { UnsafePointer<CChar>($0) }.withUnsafeBufferPointer {
            nvrtc.nvrtcCompileProgram(program, Int32($0.count), $0.baseAddress)
        }
        if status != 0 {
            var size = 0
            _ = nvrtc.nvrtcGetProgramLogSize(program, &size)
            var log = [CChar](repeating: 0, count: max(size, 1))
            _ = nvrtc.nvrtcGetProgramLog(program, &log)
            throw CUDAError.compile(program: "\(name) (\(options.joined(separator: " ")))", log: String(cString: log))
        }
        var size = 0
        try nvrtc.check(nvrtc.nvrtcGetCUBINSize(program, &size), "nvrtcGetCUBINSize(\(name))")
        var cubin = [CChar](repeating: 0, count: size)
        try nvrtc.check(nvrtc.nvrtcGetCUBIN(program, &cubin), "nvrtcGetCUBIN(\(name))")
        return cubin.map { UInt8(bitPattern: $0) }
    }
}
