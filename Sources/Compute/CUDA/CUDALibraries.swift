import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Finding and opening NVIDIA's libraries at run time: the driver (libcuda), NVRTC and cuBLAS.
/// Building poyo needs no CUDA SDK, and a machine without them only loses `--device cuda`.
///
/// Search order for each library: its environment variable (`POYO_LIBCUDA`, `POYO_LIBNVRTC`,
/// `POYO_LIBCUBLAS`: a file path), the dynamic loader's own search by soname (`LD_LIBRARY_PATH`,
/// the system cache), the usual install folders, then the `nvidia/*/lib` folders of Python
/// site-packages (NVIDIA's PyPI wheels, as PyTorch installs them).
enum CUDALibraries {
    struct Library {
        let name: String
        let environment: String
        let sonames: [String]
        /// Folders under a site-packages `nvidia/` folder that may hold it.
        let wheelFolders: [String]
    }

    static let driver = Library(
        name: "libcuda", environment: "POYO_LIBCUDA", sonames: ["libcuda.so.1", "libcuda.so"], wheelFolders: [])
    static let nvrtc = Library(
        name: "libnvrtc", environment: "POYO_LIBNVRTC",
        sonames: ["libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so.11.2", "libnvrtc.so"],
        wheelFolders: ["cu13/lib", "cuda_nvrtc/lib"])
    static let cublas = Library(
        name: "libcublas", environment: "POYO_LIBCUBLAS",
        sonames: ["libcublas.so.13", "libcublas.so.12", "libcublas.so.11", "libcublas.so"],
        wheelFolders: ["cu13/lib", "cublas/lib"])

    /// NCCL, for data-parallel jobs on several GPUs (`NCCLCommunicator`); PyTorch's wheels put it in
    /// `nvidia/nccl/lib`.
    static let nccl = Library(
        name: "libnccl", environment: "POYO_LIBNCCL", sonames: ["libnccl.so.2", "libnccl.so"],
        wheelFolders: ["nccl/lib", "cu13/lib"])

    static let systemFolders = [
        "/usr/lib/x86_64-linux-gnu", "/usr/lib64", "/usr/local/nvidia/lib64", "/usr/local/cuda/lib64",
        "/usr/local/cuda/targets/x86_64-linux/lib", "/usr/lib/wsl/lib", "/usr/lib/aarch64-linux-gnu",
    ]

    /// An opened library: its handle and the path (or soname) it was opened from.
    struct Handle: @unchecked Sendable {
        let raw: UnsafeMutableRawPointer
        let path: String
    }

    /// Opens `lib`, or throws `CUDAError.libraryNotFound` naming it and where it looked.
    static func open(_ lib: Library, environment env: [String: String] = ProcessInfo.processInfo.environment) throws
        -> Handle
    {
        var tried: [String] = []
        if let path = env[lib.environment], !path.isEmpty {
            if let h = dlopen(path, RTLD_NOW | RTLD_LOCAL) { return Handle(raw: h, path: path) }
            // An explicit path that does not load is an error of its own, not a reason to search on.
            throw CUDAError.libraryNotFound(
                lib.name, searched: "\(lib.environment)=\(path): \(String(cString: dlerror()))")
        }
        // Libraries that exist but do not load (a glibc too old for them, the wrong architecture):
        // named in the error, since "not found" would send the user looking in the wrong place.
        var unloadable: [String] = []
        func note(_ what: String) {
            guard let e = dlerror() else { return }
            let message = String(cString: e)
            if !message.contains("No such file") { unloadable.append("\(what): \(message)") }
        }
        for soname in lib.sonames {
            if let h = dlopen(soname, RTLD_NOW | RTLD_LOCAL) { return Handle(raw: h, path: soname) }
            note(soname)
        }
        tried.append("the loader's path for \(lib.sonames[0])")
        var folders = systemFolders
        tried.append("\(systemFolders.count) system folders")
        if !lib.wheelFolders.isEmpty {
            let sites = sitePackages(env)
            folders += sites.flatMap { site in lib.wheelFolders.map { "\(site)/nvidia/\($0)" } }
            tried.append("nvidia/*/lib of \(sites.count) Python site-packages")
        }
        for folder in folders {
            for soname in lib.sonames {
                let path = folder + "/" + soname
                guard FileManager.default.fileExists(atPath: path) else { continue }
                if let h = dlopen(path, RTLD_NOW | RTLD_LOCAL) { return Handle(raw: h, path: path) }
                note(path)
            }
        }
        if !unloadable.isEmpty { tried.append("found but not loadable: " + unloadable.joined(separator: "; ")) }
        throw CUDAError.libraryNotFound(lib.name, searched: tried.joined(separator: ", "))
    }

    /// The function `name` of `handle` as the C function type `T`.
    static func symbol<T>(_ handle: Handle, _ name: String, as: T.Type) throws -> T {
        guard let p = dlsym(handle.raw, name) else { throw CUDAError.missingSymbol(name, library: handle.path) }
        return unsafeBitCast(p, to: T.self)
    }

    /// Like `symbol`, nil when the library lacks it (functions newer than the oldest driver we accept).
    static func optionalSymbol<T>(_ handle: Handle, _ name: String, as: T.Type) -> T? {
        guard let p = dlsym(handle.raw, name) else { return nil }
        return unsafeBitCast(p, to: T.self)
    }

    /// Python site-packages folders: from the environment (virtualenv, conda, PYTHONPATH), the usual
    /// system locations, and as a last resort what `python3` itself reports.
    static func sitePackages(_ env: [String: String]) -> [String] {
        var roots: [String] = []
        for key in ["VIRTUAL_ENV", "CONDA_PREFIX"] {
            if let v = env[key], !v.isEmpty { roots.append(v + "/lib") }
        }
        roots += ["/usr/lib", "/usr/local/lib", "/opt/conda/lib"]
        if let home = env["HOME"] { roots.append(home + "/.local/lib") }
        var found: [String] = (env["PYTHONPATH"] ?? "").split(separator: ":").map(String.init)
        let fm = FileManager.default
        for root in roots {
            guard let entries = try? fm.contentsOfDirectory(atPath: root) else { continue }
            for e in entries.sorted() where e.hasPrefix("python3") {
                for kind in ["site-packages", "dist-packages"] {
                    let p = "\(root)/\(e)/\(kind)"
                    if fm.fileExists(atPath: p + "/nvidia") { found.append(p) }
                }
            }
        }
        if found.isEmpty { found = pythonPath() }
        return found.filter { fm.fileExists(atPath: $0 + "/nvidia") }
    }

    /// `sys.path` of the `python3` on PATH, or [] when there is none (2 s at most).
    private static func pythonPath() -> [String] {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-c", "import sys; print('\\n'.join(sys.path))"]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        do { try p.run() } catch { return [] }
        let deadline = Date().addingTimeInterval(2)
        while p.isRunning && Date() < deadline { usleep(10_000) }
        if p.isRunning {
            p.terminate()
            return []
        }
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        return text.split(separator: "\n").map(String.init).filter { !$0.isEmpty }
    }
}
