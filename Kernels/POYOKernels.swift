import Foundation

/// The OpenCL C sources of `Kernels/cl/`, shipped as a resource bundle and compiled at run time.
public enum POYOKernels {
    public enum LoadError: Error, CustomStringConvertible {
        case missing(String, searched: String)
        public var description: String {
            switch self {
            case .missing(let n, let s): return "kernel source '\(n).cl' not found in \(s)"
            }
        }
    }

    /// The source of `Kernels/cl/<name>.cl`. A missing file is an error of its own, never an empty
    /// string (which would surface later as a baffling build failure).
    public static func source(_ name: String) throws -> String {
        guard let url = Bundle.module.url(forResource: name, withExtension: "cl", subdirectory: "cl"),
              let text = try? String(contentsOf: url, encoding: .utf8) else {
            throw LoadError.missing(name, searched: Bundle.module.bundleURL.appendingPathComponent("cl").path)
        }
        return text
    }
}
