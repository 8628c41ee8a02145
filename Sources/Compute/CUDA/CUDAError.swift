/// Errors of the CUDA backend, each one line naming the library, call or kernel.
public enum CUDAError: Error, CustomStringConvertible, Equatable {
    /// A library could not be opened: `name` (libcuda, libnvrtc, libcublas) and where we looked.
    case libraryNotFound(String, searched: String)
    case missingSymbol(String, library: String)
    /// A driver, NVRTC or cuBLAS call failed: the call, its status code and the library's name for it.
    case call(String, status: Int32, message: String)
    case noDevice
    case noSuchDevice(index: Int, available: Int)
    /// NVRTC rejected a kernel family: its log.
    case compile(program: String, log: String)

    public var description: String {
        switch self {
        case .libraryNotFound("libcuda", let searched):
            return "libcuda (the NVIDIA driver library) not found, so no CUDA: is an NVIDIA driver installed? "
                + "(searched \(searched); POYO_LIBCUDA names the file if it is elsewhere)"
        case .libraryNotFound(let name, let searched):
            let variable = name == "libnvrtc" ? "POYO_LIBNVRTC" : "POYO_LIBCUBLAS"
            return "\(name) not found (searched \(searched)); install the CUDA runtime or NVIDIA's PyPI wheel, "
                + "or set \(variable) to its path"
        case .missingSymbol(let symbol, let library):
            return "\(library) has no \(symbol) (too old a version?)"
        case .call(let call, let status, let message):
            return "\(call) failed: \(message) (\(status))"
        case .noDevice:
            return "the NVIDIA driver reports no CUDA device"
        case .noSuchDevice(let index, let available):
            return "no CUDA device cuda:\(index) (\(available) available; `poyo devices` lists them)"
        case .compile(let program, let log):
            return "NVRTC could not compile \(program):\n\(log)"
        }
    }
}
