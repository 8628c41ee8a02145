import Compute
import Foundation

/// Errors reading or writing `.safetensors` files; each names the file.
public enum SafeTensorsError: Error, CustomStringConvertible {
    case unreadable(path: String, reason: String)
    case malformed(path: String, reason: String)
    case missingTensor(path: String, name: String)
    case wrongType(path: String, name: String, expected: String, found: String)
    case writeFailed(path: String, reason: String)

    public var description: String {
        switch self {
        case .unreadable(let p, let r): return "\(p): cannot read (\(r))"
        case .malformed(let p, let r): return "\(p): not a valid safetensors file (\(r))"
        case .missingTensor(let p, let n): return "\(p): missing tensor '\(n)'"
        case .wrongType(let p, let n, let e, let f): return "\(p): tensor '\(n)' is \(f), expected \(e)"
        case .writeFailed(let p, let r): return "\(p): cannot write (\(r))"
        }
    }
}

/// A `.safetensors` file held in memory: little-endian u64 header length, JSON header, raw data.
public struct SafeTensorsFile {
    public struct Entry {
        public let dtype: String
        public let shape: [Int]
        public let range: Range<Int>
    }

    public let path: String
    public let entries: [String: Entry]
    public let metadata: [String: String]
    private let data: Data  // the whole file
    private let dataStart: Int

    public init(path: String) throws {
        guard let d = FileManager.default.contents(atPath: path) else {
            throw SafeTensorsError.unreadable(
                path: path,
                reason: FileManager.default.fileExists(atPath: path) ? "permission or I/O error" : "no such file")
        }
        try self.init(data: d, path: path)
    }

    public init(data d: Data, path: String) throws {
        self.path = path
        self.data = d
        guard d.count >= 8 else { throw SafeTensorsError.malformed(path: path, reason: "shorter than 8 bytes") }
        var n: UInt64 = 0
        for k in 0..<8 { n |= UInt64(d[d.startIndex + k]) << (8 * UInt64(k)) }
        guard n <= UInt64(d.count - 8) else {
            throw SafeTensorsError.malformed(path: path, reason: "header length \(n) exceeds file size \(d.count)")
        }
        dataStart = 8 + Int(n)
        let header = d.subdata(in: (d.startIndex + 8)..<(d.startIndex + dataStart))
        guard let json = try? JSONSerialization.jsonObject(with: header) as? [String: Any] else {
            throw SafeTensorsError.malformed(path: path, reason: "header is not a JSON object")
        }
        var entries: [String: Entry] = [:]
        var meta: [String: String] = [:]
        let payload = d.count - dataStart
        for (key, value) in json {
            if key == "__metadata__" {
                meta = try SafeTensorsFile.metadata(value, path: path)
                continue
            }
            entries[key] = try SafeTensorsFile.entry(key, value, payload: payload, path: path)
        }
        try SafeTensorsFile.checkTiling(entries, payload: payload, path: path)
        self.entries = entries
        self.metadata = meta
        // Files we write are sealed: a SHA-256 over the header (with its own value blanked) and the
        // data, so a flipped bit anywhere (a vocabulary id, an offset, a weight) is an error naming
        // the file, never a silently different model. Older files of ours carry a checksum of the
        // data alone; files written by others carry none and get only the range checks above.
        if let expected = meta[SafeTensorsFile.sealKey] {
            let header = [UInt8](d[(d.startIndex + 8)..<(d.startIndex + dataStart)])
            guard let blanked = SafeTensorsFile.blank(expected, in: header),
                SafeTensorsFile.seal(header: blanked, payload: d[(d.startIndex + dataStart)...]) == expected
            else {
                throw SafeTensorsError.malformed(
                    path: path, reason: "contents do not match the file's SHA-256 seal (corrupt or altered)")
            }
        } else if let expected = meta[SafeTensorsFile.checksumKey] {
            let payloadBytes = [UInt8](d[(d.startIndex + dataStart)...])
            guard SHA256.hex(SHA256.digest(payloadBytes)) == expected else {
                throw SafeTensorsError.malformed(
                    path: path, reason: "tensor data does not match its SHA-256 (corrupt or altered)")
            }
        }
    }

    /// One header entry, checked: a known dtype, non-negative dimensions whose product (overflow
    /// checked) times the element size is exactly its byte range, inside the data.
    static func entry(_ key: String, _ value: Any, payload: Int, path: String) throws -> Entry {
        guard let e = value as? [String: Any], let dtype = e["dtype"] as? String,
            let shape = e["shape"] as? [Int], let offs = e["data_offsets"] as? [Int], offs.count == 2,
            offs[0] >= 0, offs[0] <= offs[1]
        else { throw SafeTensorsError.malformed(path: path, reason: "bad entry for '\(key)'") }
        guard offs[1] <= payload else {
            throw SafeTensorsError.malformed(
                path: path,
                reason: "truncated: tensor '\(key)' ends at byte \(offs[1]) of the data, the file holds \(payload)")
        }
        guard let size = elementSize(dtype) else {
            throw SafeTensorsError.malformed(path: path, reason: "unsupported dtype \(dtype) for '\(key)'")
        }
        var bytes = size
        for n in shape {
            let (product, overflow) = bytes.multipliedReportingOverflow(by: n)
            guard n >= 0, !overflow else {
                throw SafeTensorsError.malformed(path: path, reason: "'\(key)': shape \(shape) is not a valid size")
            }
            bytes = product
        }
        guard bytes == offs[1] - offs[0] else {
            throw SafeTensorsError.malformed(
                path: path, reason: "'\(key)': shape \(shape) does not match its byte range")
        }
        return Entry(dtype: dtype, shape: shape, range: offs[0]..<offs[1])
    }

    /// The tensors' byte ranges must tile the data exactly, as safetensors requires: no two tensors
    /// share bytes (aliased weights) and no bytes lie between or after them.
    static func checkTiling(_ entries: [String: Entry], payload: Int, path: String) throws {
        var end = 0
        for (name, e) in entries.sorted(by: {
            ($0.value.range.lowerBound, $0.key) < ($1.value.range.lowerBound, $1.key)
        }) {
            guard e.range.lowerBound == end else {
                let what = e.range.lowerBound < end ? "overlaps the tensor before it" : "leaves a gap before it"
                throw SafeTensorsError.malformed(
                    path: path, reason: "tensor '\(name)' (bytes \(e.range.lowerBound)..<\(e.range.upperBound)) \(what)"
                )
            }
            end = e.range.upperBound
        }
        guard end == payload else {
            throw SafeTensorsError.malformed(
                path: path, reason: "\(payload - end) bytes after the last tensor belong to none")
        }
    }

    /// Metadata key of the seal: lower-case hex SHA-256 of the header bytes, with this value replaced
    /// by as many `0`s, followed by every byte after the header.
    public static let sealKey = "file_sha256"

    /// The header with the seal's value (which appears exactly once) replaced by zeros; nil when the
    /// value is not there exactly once (a corrupt header).
    static func blank(_ value: String, in header: [UInt8]) -> [UInt8]? {
        let needle = [UInt8](value.utf8)
        guard needle.count == 64, let at = position(of: needle, in: header) else { return nil }
        var out = header
        out.replaceSubrange(at..<(at + 64), with: [UInt8](repeating: UInt8(ascii: "0"), count: 64))
        return out
    }

    /// Where `needle` starts in `haystack`, when it occurs there exactly once.
    static func position(of needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard !needle.isEmpty, needle.count <= haystack.count else { return nil }
        var found: Int?
        for i in 0...(haystack.count - needle.count) where haystack[i] == needle[0] {
            if haystack[i..<(i + needle.count)].elementsEqual(needle) {
                guard found == nil else { return nil }
                found = i
            }
        }
        return found
    }

    static func seal<D: Collection<UInt8>>(header: [UInt8], payload: D) -> String {
        var sha = SHA256()
        sha.update(header)
        sha.update([UInt8](payload))
        return SHA256.hex(sha.finalize())
    }

    /// The `__metadata__` object of a header as strings.
    static func metadata(_ value: Any, path: String) throws -> [String: String] {
        guard let m = value as? [String: Any] else {
            throw SafeTensorsError.malformed(path: path, reason: "__metadata__ is not an object")
        }
        return m.mapValues { ($0 as? String) ?? "\($0)" }
    }

    /// A file's metadata alone: only the header is read (no tensors, so no payload checksum), for
    /// callers that need a checkpoint's settings and not its weights.
    public static func metadata(atPath path: String) throws -> [String: String] {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw SafeTensorsError.unreadable(
                path: path,
                reason: FileManager.default.fileExists(atPath: path) ? "permission or I/O error" : "no such file")
        }
        defer { try? handle.close() }
        let lengthBytes = [UInt8](handle.readData(ofLength: 8))
        guard lengthBytes.count == 8 else {
            throw SafeTensorsError.malformed(path: path, reason: "shorter than 8 bytes")
        }
        var n: UInt64 = 0
        for k in 0..<8 { n |= UInt64(lengthBytes[k]) << (8 * UInt64(k)) }
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
        guard n <= UInt64(max(size - 8, 0)) else {
            throw SafeTensorsError.malformed(path: path, reason: "header length \(n) exceeds file size \(size)")
        }
        let header = handle.readData(ofLength: Int(n))
        guard header.count == Int(n), let json = try? JSONSerialization.jsonObject(with: header) as? [String: Any]
        else { throw SafeTensorsError.malformed(path: path, reason: "header is not a JSON object") }
        return try json["__metadata__"].map { try metadata($0, path: path) } ?? [:]
    }

    /// Metadata key of the payload checksum (lower-case hex SHA-256 of every byte after the header).
    public static let checksumKey = "payload_sha256"

    /// Whether the file carried a seal or a payload checksum (verified when it was opened).
    public var hasChecksum: Bool {
        metadata[SafeTensorsFile.sealKey] != nil || metadata[SafeTensorsFile.checksumKey] != nil
    }

    static func elementSize(_ dtype: String) -> Int? {
        switch dtype {
        case "F32", "I32", "U32": return 4
        case "F64", "I64", "U64": return 8
        case "F16", "BF16", "I16", "U16": return 2
        case "U8", "I8", "BOOL": return 1
        default: return nil
        }
    }

    public var names: [String] { entries.keys.sorted() }

    public func entry(_ name: String) throws -> Entry {
        guard let e = entries[name] else { throw SafeTensorsError.missingTensor(path: path, name: name) }
        return e
    }

    private func load<T>(_ e: Entry, as: T.Type) -> [T] {
        let count = e.range.count / MemoryLayout<T>.size
        return [T](unsafeUninitializedCapacity: count) { buf, n in
            data.withUnsafeBytes { raw in
                let src = UnsafeRawBufferPointer(
                    rebasing: raw[(dataStart + e.range.lowerBound)..<(dataStart + e.range.upperBound)])
                UnsafeMutableRawBufferPointer(buf).copyMemory(from: src)
            }
            n = count
        }
    }

    /// A float tensor as Float32 (F64 is rounded).
    public func floats(_ name: String) throws -> [Float] {
        let e = try entry(name)
        switch e.dtype {
        case "F32": return load(e, as: Float.self)
        case "F64": return load(e, as: Double.self).map { Float($0) }
        default: throw SafeTensorsError.wrongType(path: path, name: name, expected: "F32 or F64", found: e.dtype)
        }
    }

    public func doubles(_ name: String) throws -> [Double] {
        let e = try entry(name)
        switch e.dtype {
        case "F64": return load(e, as: Double.self)
        case "F32": return load(e, as: Float.self).map { Double($0) }
        default: throw SafeTensorsError.wrongType(path: path, name: name, expected: "F32 or F64", found: e.dtype)
        }
    }

    public func int64s(_ name: String) throws -> [Int64] {
        let e = try entry(name)
        switch e.dtype {
        case "I64": return load(e, as: Int64.self)
        case "I32": return load(e, as: Int32.self).map { Int64($0) }
        default: throw SafeTensorsError.wrongType(path: path, name: name, expected: "I64 or I32", found: e.dtype)
        }
    }
}

/// Builds and atomically writes a `.safetensors` file.
public struct SafeTensorsWriter {
    private var tensors: [(name: String, dtype: String, shape: [Int], bytes: Data)] = []
    public var metadata: [String: String] = [:]

    public init() {}

    public mutating func add(_ name: String, floats: [Float], shape: [Int]) {
        tensors.append((name, "F32", shape, floats.withUnsafeBytes { Data($0) }))
    }

    public mutating func add(_ name: String, int64s: [Int64], shape: [Int]) {
        tensors.append((name, "I64", shape, int64s.withUnsafeBytes { Data($0) }))
    }

    public mutating func add(_ name: String, doubles: [Double], shape: [Int]) {
        tensors.append((name, "F64", shape, doubles.withUnsafeBytes { Data($0) }))
    }

    public func encoded() throws -> Data {
        var header: [String: Any] = [:]
        var offset = 0
        let ordered = tensors.sorted { $0.name < $1.name }
        for t in ordered {
            header[t.name] =
                ["dtype": t.dtype, "shape": t.shape, "data_offsets": [offset, offset + t.bytes.count]] as [String: Any]
            offset += t.bytes.count
        }
        var sha = SHA256()
        for t in ordered { sha.update([UInt8](t.bytes)) }
        var meta = metadata
        // The data's own checksum stays, for readers that know only it; the seal covers everything.
        meta[SafeTensorsFile.checksumKey] = SHA256.hex(sha.finalize())
        let blank = String(repeating: "0", count: 64)
        meta[SafeTensorsFile.sealKey] = blank
        header["__metadata__"] = meta
        var json = [UInt8](try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys]))
        while json.count % 8 != 0 { json.append(0x20) }  // pad with spaces to keep data 8-aligned
        var payload = Data(capacity: offset)
        for t in ordered { payload.append(t.bytes) }
        // Seal the header as written (its seal value blank) and the data, then put the value in place:
        // the same length, so no offset moves. The blank must be the header's only run of 64 zeros.
        let seal = SafeTensorsFile.seal(header: json, payload: payload)
        guard let at = SafeTensorsFile.position(of: [UInt8](blank.utf8), in: json) else {
            throw SafeTensorsError.writeFailed(path: "(encoding)", reason: "the header holds the seal's blank twice")
        }
        json.replaceSubrange(at..<(at + 64), with: [UInt8](seal.utf8))
        var out = Data(capacity: 8 + json.count + offset)
        var n = UInt64(json.count).littleEndian
        withUnsafeBytes(of: &n) { out.append(contentsOf: $0) }
        out.append(contentsOf: json)
        out.append(payload)
        return out
    }

    /// Writes to a temporary file beside `path`, then renames it into place, so a crash never
    /// leaves a half-written checkpoint under the final name.
    public func write(to path: String) throws {
        let data = try encoded()
        try AtomicFile.write(data, to: path)
    }
}

/// Durable replace-by-rename: the data goes to a temporary file in the same folder, is flushed to
/// disk (fsync), renamed over the old file, and the folder is flushed too. A kill or power loss at
/// any instant leaves either the old complete file or the new complete file under the name.
public enum AtomicFile {
    public static func write(_ data: Data, to path: String) throws {
        let url = URL(fileURLWithPath: path)
        let folder = url.deletingLastPathComponent().path
        let tmp = folder + "/.\(url.lastPathComponent).tmp-\(ProcessInfo.processInfo.processIdentifier)"
        func fail(_ what: String) -> SafeTensorsError {
            let reason = "\(what): \(String(cString: strerror(errno)))"
            unlink(tmp)
            return SafeTensorsError.writeFailed(path: path, reason: reason)
        }
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw fail("cannot create \(tmp)") }
        var ok = true
        data.withUnsafeBytes { raw in
            var offset = 0
            while ok && offset < raw.count {
                let n = Foundation.write(fd, raw.baseAddress! + offset, raw.count - offset)
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { ok = false } else { offset += n }
            }
        }
        guard ok else {
            close(fd)
            throw fail("write")
        }
        guard fsync(fd) == 0 else {
            close(fd)
            throw fail("fsync")
        }
        close(fd)
        guard rename(tmp, path) == 0 else { throw fail("rename") }
        // The rename itself is durable only once the folder is flushed.
        let dir = open(folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dir >= 0 {
            fsync(dir)
            close(dir)
        }
    }
}
