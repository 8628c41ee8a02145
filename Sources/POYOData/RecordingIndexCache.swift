import Foundation

/// What a reader child sent for a recording file, kept on disk so the next start skips the child:
/// the recording's index (unit ids, behaviour, intervals, the byte layout of its spike datasets and
/// their window index) as `RecordingTransfer` bytes. On 1,000 files, the children were most of
/// the time to a first training step (issue 24; docs/scale.md).
///
/// One entry per file and reader settings, named by a hash of both. An entry holds the file's
/// identity when it was read: path, size, modification time, inode, and a hash of its first and
/// last 64 KiB. A file whose identity no longer matches is stale: it is read again and its entry
/// replaced. An entry that fails its own checksum, or cannot be decoded, counts as absent. The
/// cache never decides what a recording holds. A miss, a stale entry, a corrupt entry or an
/// unwritable folder only cost a read.
///
/// Folder: `$POYO_INDEX_CACHE` (`off` disables the cache), else `index/` in the cache root
/// (`CacheFolder.root`).
public enum RecordingIndexCache {
    /// Bumped whenever `RecordingTransfer`'s bytes or this file's layout change.
    static let version: UInt64 = 3
    private static let magic = Array("POYOIDX\n".utf8)
    /// Entries above this size (spikes of chunked or compressed files travel whole) are not kept.
    static let maxPayloadBytes = 256 << 20

    /// The folder entries are kept in, or nil when caching is off.
    public static func folder(_ choice: IndexCacheChoice) -> URL? {
        switch choice {
        case .off: return nil
        case .folder(let path): return URL(fileURLWithPath: path)
        case .automatic:
            let env = ProcessInfo.processInfo.environment["POYO_INDEX_CACHE"] ?? ""
            if env == "off" { return nil }
            if !env.isEmpty { return URL(fileURLWithPath: env) }
            return CacheFolder.root.appendingPathComponent("index")
        }
    }

    /// What identifies the file's contents without reading them all.
    struct Identity: Equatable {
        var size: UInt64
        var modifiedSeconds: Int64
        var modifiedNanoseconds: Int64
        var inode: UInt64
        var edgesHash: UInt64  // `Checksum64` of the first and last 64 KiB

        init?(path: String) {
            var st = stat()
            guard stat(path, &st) == 0 else { return nil }
            size = UInt64(st.st_size)
            modifiedSeconds = Int64(st.st_mtim.tv_sec)
            modifiedNanoseconds = Int64(st.st_mtim.tv_nsec)
            inode = UInt64(st.st_ino)
            guard let h = Self.edges(path: path, size: Int(st.st_size)) else { return nil }
            edgesHash = h
        }

        init(size: UInt64, modifiedSeconds: Int64, modifiedNanoseconds: Int64, inode: UInt64, edgesHash: UInt64) {
            self.size = size
            self.modifiedSeconds = modifiedSeconds
            self.modifiedNanoseconds = modifiedNanoseconds
            self.inode = inode
            self.edgesHash = edgesHash
        }

        /// `Checksum64` of the whole file up to 128 KiB, else of its first and last 64 KiB.
        private static func edges(path: String, size: Int) -> UInt64? {
            let fd = open(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { return nil }
            defer { close(fd) }
            let span = 1 << 16
            let ranges = size <= 2 * span ? [(0, size)] : [(0, span), (size - span, span)]
            var h = Checksum64()
            for (offset, count) in ranges {
                var bytes = [UInt8](repeating: 0, count: count)
                var got = 0
                while got < count {
                    let n = bytes.withUnsafeMutableBytes {
                        pread(fd, $0.baseAddress! + got, count - got, off_t(offset + got))
                    }
                    if n < 0 && errno == EINTR { continue }
                    guard n > 0 else { return nil }
                    got += n
                }
                h.add(bytes[...])
            }
            return h.value
        }
    }

    /// The entry's file for `path` read with `key` (the reader settings that shape the result).
    static func entryURL(folder: URL, path: String, key: String) -> URL {
        var h = Checksum64()
        h.add(Array(path.utf8)[...])
        h.add([0][...])
        h.add(Array(key.utf8)[...])
        return folder.appendingPathComponent(String(format: "%016llx.index", h.value))
    }

    /// The reader settings that shape what a read returns, as one string: the options without
    /// those that only say how to read (the child's time limit, isolation, the cache itself).
    static func key(_ options: ReaderOptions) -> String {
        var o = options
        o.timeout = nil
        o.isolate = true
        o.indexCache = .automatic
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let json = (try? encoder.encode(o)).map { String(decoding: $0, as: UTF8.self) } ?? ""
        return "v\(version) \(json)"
    }

    /// The payload kept for `path` with `key`, when its entry is sound and the file unchanged.
    /// `stale` is set when an entry exists but no longer matches the file.
    static func lookup(folder: URL, path: String, key: String, stale: inout Bool) -> [UInt8]? {
        let url = entryURL(folder: folder, path: path, key: key)
        guard let bytes = readWhole(url.path) else { return nil }
        var r = ByteReader(bytes: bytes, file: url.path)
        do {
            guard Array(try r.take(magic.count)) == magic, try r.u64() == version else { return nil }
            guard try r.string() == path, try r.string() == key else { return nil }
            let stored = Identity(
                size: try r.u64(), modifiedSeconds: Int64(bitPattern: try r.u64()),
                modifiedNanoseconds: Int64(bitPattern: try r.u64()), inode: try r.u64(), edgesHash: try r.u64())
            let sum = try r.u64()
            let payload = try r.raw(UInt8.self)
            var h = Checksum64()
            h.add(payload[...])
            guard h.value == sum, r.at == r.bytes.count else { return nil }
            guard Identity(path: path) == stored else {
                stale = true
                return nil
            }
            return payload
        } catch {
            return nil
        }
    }

    /// A whole file read straight into one array (no `Data` in between: entries of a thousand
    /// files are a gigabyte, and every extra copy is page faults); nil when it cannot be read.
    static func readWhole(_ path: String) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, st.st_size >= 0, st.st_size < Int(Int32.max) else { return nil }
        let size = Int(st.st_size)
        var complete = true
        let bytes = [UInt8](unsafeUninitializedCapacity: size) { buffer, count in
            var got = 0
            while got < size {
                let n = read(fd, buffer.baseAddress! + got, size - got)
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else { break }
                got += n
            }
            complete = got == size
            count = got
        }
        return complete ? bytes : nil
    }

    /// Keeps `payload` for `path` (read with `key`; the file's identity taken before the read).
    /// Written beside and renamed, so a reader never sees half an entry; failures are ignored.
    static func store(folder: URL, path: String, key: String, identity: Identity, payload: [UInt8]) {
        guard payload.count <= maxPayloadBytes else { return }
        // The file changed while it was read: keep nothing rather than a mismatched pair.
        guard Identity(path: path) == identity else { return }
        var w = ByteWriter()
        w.bytes += magic
        w.u64(version)
        w.string(path)
        w.string(key)
        w.u64(identity.size)
        w.u64(UInt64(bitPattern: identity.modifiedSeconds))
        w.u64(UInt64(bitPattern: identity.modifiedNanoseconds))
        w.u64(identity.inode)
        w.u64(identity.edgesHash)
        var h = Checksum64()
        h.add(payload[...])
        w.u64(h.value)
        w.raw(payload)
        try? FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let url = entryURL(folder: folder, path: path, key: key)
        let tmp = folder.appendingPathComponent(
            ".\(url.lastPathComponent).tmp-\(getpid())-\(UInt64.random(in: 0...UInt64.max))")
        guard FileManager.default.createFile(atPath: tmp.path, contents: Data(w.bytes)) else { return }
        if rename(tmp.path, url.path) != 0 { unlink(tmp.path) }
    }
}

/// Where the recording index cache lives (`ReaderOptions.indexCache`).
public enum IndexCacheChoice: Sendable, Codable, Equatable {
    /// `$POYO_INDEX_CACHE`, else the cache root's `index/`.
    case automatic
    case off
    case folder(String)
}

/// The cache root of everything poyo keeps between runs: `$POYO_CACHE_DIR`, else
/// `$XDG_CACHE_HOME/poyo`, else `~/.cache/poyo`.
public enum CacheFolder {
    public static var root: URL {
        let env = ProcessInfo.processInfo.environment
        if let d = env["POYO_CACHE_DIR"], !d.isEmpty { return URL(fileURLWithPath: d) }
        if let x = env["XDG_CACHE_HOME"], !x.isEmpty { return URL(fileURLWithPath: x).appendingPathComponent("poyo") }
        return FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/poyo")
    }
}

/// A 64-bit checksum against torn or altered cache entries (not against an attacker: an entry only
/// ever points the reader at byte ranges of the file it names, which it checks). FNV-1a's
/// multiply-xor over 8-byte words, then the bytes left over: several times faster than byte-wise
/// FNV-1a on the megabyte entries of a thousand files.
struct Checksum64 {
    private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325

    mutating func add(_ bytes: ArraySlice<UInt8>) {
        var v = value
        bytes.withUnsafeBytes { raw in
            let words = raw.count / 8
            for i in 0..<words {
                v ^= UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self))
                v = (v &* 0x100_0000_01b3) ^ (v >> 29)
            }
            for i in (8 * words)..<raw.count {
                v ^= UInt64(raw[i])
                v = v &* 0x100_0000_01b3
            }
        }
        value = v
    }
}
