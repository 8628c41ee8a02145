import Foundation

/// Compiled program binaries on disk, so a process does not recompile kernels a previous one built.
///
/// An entry's name is the SHA-256 of everything the binary depends on: the full source, the build
/// options, the device name, its driver version and the platform version. The file repeats that key
/// and carries the binary's length and SHA-256, so a truncated, corrupt or foreign file is detected
/// and rebuilt from source, never trusted. Entries are written to a temporary file in the same
/// folder and renamed into place, so a reader never sees half a file.
///
/// Folder: `POYO_KERNEL_CACHE` if set (`off` disables the cache), else `$XDG_CACHE_HOME/poyo/kernels`,
/// else `~/.cache/poyo/kernels`.
public struct KernelCache: Sendable, Equatable {
    /// nil: caching is off.
    public let directory: URL?

    public init(directory: URL?) { self.directory = directory }

    public static let disabled = KernelCache(directory: nil)

    public static func fromEnvironment(_ env: [String: String] = ProcessInfo.processInfo.environment) -> KernelCache {
        if let v = env["POYO_KERNEL_CACHE"], !v.isEmpty {
            return v.lowercased() == "off"
                ? .disabled : KernelCache(directory: URL(fileURLWithPath: v, isDirectory: true))
        }
        let base: URL
        if let xdg = env["XDG_CACHE_HOME"], !xdg.isEmpty {
            base = URL(fileURLWithPath: xdg, isDirectory: true)
        } else {
            base = FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache", isDirectory: true)
        }
        return KernelCache(directory: base.appendingPathComponent("poyo/kernels", isDirectory: true))
    }

    /// What an entry depends on; its SHA-256 names the file.
    struct Key {
        let digest: [UInt8]
        var hex: String { SHA256.hex(digest) }

        init(source: String, options: String, device: OpenCLDeviceInfo) {
            self.init(parts: [source, options, device.name, device.driverVersion, device.platformVersion])
        }

        /// Any backend's key: everything its binary depends on (CUDA: source, options, NVRTC version,
        /// GPU architecture).
        init(parts: [String]) {
            var h = SHA256()
            // NUL-separated so no two different tuples hash the same text
            for part in parts {
                h.update(part)
                h.update([0])
            }
            digest = h.finalize()
        }
    }

    private static let magic = Array("POYOCLB1".utf8)
    private static let headerSize = 8 + 32 + 8 + 32

    func url(for key: Key) -> URL? { directory?.appendingPathComponent(key.hex + ".bin") }

    /// The binary stored under `key`, or nil when there is none or it fails any check.
    func load(_ key: Key) -> [UInt8]? {
        guard let url = url(for: key), let data = try? Data(contentsOf: url) else { return nil }
        let bytes = [UInt8](data)
        guard bytes.count >= Self.headerSize, Array(bytes[0..<8]) == Self.magic,
            Array(bytes[8..<40]) == key.digest
        else { return nil }
        var length: UInt64 = 0
        for i in 0..<8 { length |= UInt64(bytes[40 + i]) << UInt64(8 * i) }
        guard length > 0, UInt64(bytes.count - Self.headerSize) == length else { return nil }
        let binary = Array(bytes[Self.headerSize...])
        guard SHA256.digest(binary) == Array(bytes[48..<80]) else { return nil }
        return binary
    }

    /// Stores `binary` under `key` (temp file + rename). Failures are ignored: the cache only saves time.
    func store(_ binary: [UInt8], for key: Key) {
        guard let dir = directory, let url = url(for: key), !binary.isEmpty else { return }
        var file = Self.magic + key.digest
        for i in 0..<8 { file.append(UInt8(truncatingIfNeeded: UInt64(binary.count) >> UInt64(8 * i))) }
        file += SHA256.digest(binary)
        file += binary
        let tmp = dir.appendingPathComponent(
            ".\(key.hex).\(ProcessInfo.processInfo.processIdentifier).\(UInt32.random(in: 0...UInt32.max)).tmp")
        do {
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            try Data(file).write(to: tmp)
            // rename(2) replaces the destination atomically within one file system.
            if rename(tmp.path, url.path) != 0 { try? FileManager.default.removeItem(at: tmp) }
        } catch {
            try? FileManager.default.removeItem(at: tmp)
        }
    }
}
