import Foundation

/// The OpenCL C sources of `Kernels/cl/`, shipped as a resource bundle and compiled at run time.
public enum POYOKernels {
    public enum LoadError: Error, CustomStringConvertible {
        case missing(String, searched: String)
        public var description: String {
            switch self {
            case .missing(let n, let s): return "kernel source '\(n)' not found in \(s)"
            }
        }
    }

    /// The folder the `.cl` files are read from: `$POYO_KERNELS_DIR` when set (the GPU bundle's
    /// wrapper sets it, since a binary started through a carried dynamic loader sees the loader as
    /// its executable), else the resource bundle beside the executable or in the build folder.
    public static var directory: URL {
        if let d = ProcessInfo.processInfo.environment["POYO_KERNELS_DIR"], !d.isEmpty {
            return URL(fileURLWithPath: d)
        }
        return Bundle.module.bundleURL.appendingPathComponent("cl")
    }

    /// The source of `<directory>/<name>.cl`. A missing file is an error of its own, never an empty
    /// string (which would surface later as a baffling build failure).
    public static func source(_ name: String) throws -> String { try file("\(name).cl") }

    /// The text of `<directory>/<fileName>` (a `.cl` family or a prelude header).
    public static func file(_ fileName: String) throws -> String {
        let url = directory.appendingPathComponent(fileName)
        guard let text = try? String(contentsOf: url, encoding: .utf8) else {
            throw LoadError.missing(fileName, searched: directory.path)
        }
        return text
    }

    /// The prelude a compiler gets in front of every family: OpenCL C or CUDA C++ (NVRTC).
    public enum Dialect: String, Sendable {
        case openCL = "prelude_opencl.h"
        case cuda = "prelude_cuda.h"
    }

    /// What one program is compiled from: the dialect's prelude, `common.cl`, then the family's
    /// file after `#line 1`, so build errors give the family file's line numbers.
    public static func programSource(_ family: String, _ dialect: Dialect) throws -> String {
        try file(dialect.rawValue) + "\n" + source("common") + "\n#line 1\n" + source(family)
    }
}
