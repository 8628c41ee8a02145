import Foundation
import _CHDF5

/// What a dataset or attribute stores, as far as our readers care.
public enum HDF5TypeClass: String, Sendable, Equatable, Codable {
    case integer, float, string, other
}

/// A thin, safe handle on one HDF5 file: whole or ranged reads of datasets, attributes, listing.
///
/// Objects are addressed by slash paths relative to the root (`"spikes/timestamps"`; `"/"` is the
/// root). Every failure throws `DataError` naming this file and the HDF5 path at fault. Handles
/// other than the file itself are opened and closed within each call, so nothing leaks on a throw
/// (`HDF5Dataset` keeps one dataset open for repeated range reads).
///
/// Defensive limits, because files come from anywhere: a dataset whose dimensions claim more bytes
/// than `maxBytes(for:)` allows (16 × the file size + 16 MiB) is rejected before anything is
/// allocated, and so are groups with more than `maxLinks` members and names longer than 64 KiB.
/// Every call into libhdf5 holds `HDF5Lock` (libhdf5 serialises calls anyway).
public final class HDF5File: @unchecked Sendable {
    /// The path as the caller gave it (used in error messages).
    public let path: String
    let id: hid_t
    /// Size of the file in bytes when it was opened (0 for files being written).
    public let fileSize: Int

    public static let maxLinks = 1 << 20

    /// Opens an existing file read-only; `.fileNotFound` / `.notHDF5` come before any HDF5 error.
    public init(readingAt path: String) throws {
        var st = stat()
        guard stat(path, &st) == 0 else { throw DataError.unreachable(path) }
        guard (st.st_mode & S_IFMT) == S_IFREG else { throw DataError.io(path: path, reason: "not a regular file") }
        self.fileSize = Int(st.st_size)
        Isolation.trace(path: path, field: "/")
        let f: hid_t = try HDF5Lock.run {
            HDF5File.silenceErrors()
            guard H5Fis_hdf5(path) > 0 else { throw DataError.notHDF5(path) }
            let fapl = HDF5File.accessList()
            defer { H5Pclose(fapl) }
            let f = H5Fopen(path, poyo_h5f_acc_rdonly(), fapl)
            guard f >= 0 else {
                throw DataError.invalid(
                    file: path, field: "/", reason: "libhdf5 cannot open it (truncated or corrupt file)")
            }
            return f
        }
        self.path = path
        self.id = f
    }

    /// Creates (or truncates) a file for writing.
    public init(creatingAt path: String) throws {
        let f: hid_t = try HDF5Lock.run {
            HDF5File.silenceErrors()
            let fapl = HDF5File.accessList()
            defer { H5Pclose(fapl) }
            let f = H5Fcreate(path, poyo_h5f_acc_trunc(), poyo_h5p_default(), fapl)
            guard f >= 0 else { throw DataError.hdf5(file: path, call: "H5Fcreate", path: "/") }
            return f
        }
        self.path = path
        self.id = f
        self.fileSize = 0
    }

    /// Opens an existing file to change it in place (test and fuzz fixtures: objects replaced,
    /// deleted or added through libhdf5, so the result is always a well-formed file).
    public init(editingAt path: String) throws {
        let f: hid_t = try HDF5Lock.run {
            HDF5File.silenceErrors()
            let fapl = HDF5File.accessList()
            defer { H5Pclose(fapl) }
            let f = H5Fopen(path, poyo_h5f_acc_rdwr(), fapl)
            guard f >= 0 else { throw DataError.hdf5(file: path, call: "H5Fopen", path: "/") }
            return f
        }
        self.path = path
        self.id = f
        self.fileSize = 0
    }

    deinit { HDF5Lock.run { _ = H5Fclose(id) } }

    /// File access without HDF5's `flock` locking: we only read, or write a temporary file that is
    /// renamed into place, and an `Isolation` reader child reading the same file at the same time
    /// must not make an open in this process fail.
    static func accessList() -> hid_t {
        let fapl = H5Pcreate(poyo_h5p_file_access())
        if fapl >= 0 { H5Pset_file_locking(fapl, false, true) }
        return fapl >= 0 ? fapl : poyo_h5p_default()
    }

    /// HDF5's error printing is per thread in a thread-safe build, so every entry point calls this.
    static func silenceErrors() { poyo_h5_silence_errors() }

    /// The most bytes one dataset may claim before we refuse to allocate for it.
    func maxBytes() -> Int {
        guard fileSize > 0 else { return Int.max }
        let (m, overflow) = fileSize.multipliedReportingOverflow(by: 16)
        return overflow ? Int.max : m + (16 << 20)
    }

    // MARK: - Structure

    /// Whether a link exists at `p`, checking each component (H5Lexists fails on a missing parent).
    public func exists(_ p: String) -> Bool {
        HDF5Lock.run {
            HDF5File.silenceErrors()
            var prefix = ""
            for part in p.split(separator: "/") {
                prefix += prefix.isEmpty ? String(part) : "/" + part
                guard H5Lexists(id, prefix, poyo_h5p_default()) > 0 else { return false }
            }
            return true
        }
    }

    /// Whether `p` names a group (false for datasets and for missing paths).
    public func isGroup(_ p: String) -> Bool { objectType(p) == H5I_GROUP }

    /// Whether `p` names a dataset.
    public func isDataset(_ p: String) -> Bool { objectType(p) == H5I_DATASET }

    /// The kind of object at `p`, nil when there is none.
    private func objectType(_ p: String) -> H5I_type_t? {
        guard exists(p) else { return nil }
        return HDF5Lock.run {
            Isolation.trace(path: path, field: p)
            let o = H5Oopen(id, p, poyo_h5p_default())
            guard o >= 0 else { return nil }
            defer { H5Oclose(o) }
            return H5Iget_type(o)
        }
    }

    /// Names of the links inside group `p`, in HDF5's name order.
    public func children(of p: String) throws -> [String] {
        try withGroup(p) { g in
            var info = H5G_info_t()
            guard H5Gget_info(g, &info) >= 0 else { throw fail("H5Gget_info", p) }
            guard info.nlinks <= UInt64(HDF5File.maxLinks) else {
                throw DataError.invalid(file: path, field: p, reason: "claims \(info.nlinks) members")
            }
            var names: [String] = []
            names.reserveCapacity(Int(info.nlinks))
            for i in 0..<info.nlinks {
                let len = H5Lget_name_by_idx(g, ".", H5_INDEX_NAME, H5_ITER_INC, i, nil, 0, poyo_h5p_default())
                guard len >= 0, len < 65536 else { throw fail("H5Lget_name_by_idx", p) }
                var buf = [CChar](repeating: 0, count: Int(len) + 1)
                guard
                    H5Lget_name_by_idx(
                        g, ".", H5_INDEX_NAME, H5_ITER_INC, i, &buf, buf.count,
                        poyo_h5p_default()) >= 0
                else { throw fail("H5Lget_name_by_idx", p) }
                names.append(decodeCString(buf))
            }
            return names
        }
    }

    /// Dimensions of dataset `p` (`[]` for a scalar).
    public func shape(_ p: String) throws -> [Int] {
        try withDataset(p) { d in try dims(of: d, p) }
    }

    /// Storage class of dataset `p`.
    public func typeClass(_ p: String) throws -> HDF5TypeClass {
        try typeInfo(p).typeClass
    }

    /// Storage class and element size in bytes of dataset `p` (e.g. `.float`, 8 for f64).
    public func typeInfo(_ p: String) throws -> (typeClass: HDF5TypeClass, size: Int) {
        try withDataset(p) { d in
            let t = H5Dget_type(d)
            guard t >= 0 else { throw fail("H5Dget_type", p) }
            defer { H5Tclose(t) }
            return (HDF5File.typeClass(of: t), H5Tget_size(t))
        }
    }

    // MARK: - Numeric datasets (row-major, flattened; HDF5 converts between numeric types)

    public func readDoubles(_ p: String) throws -> [Double] {
        try readNumeric(p, memType: H5Types.double, rows: nil)
    }

    public func readFloats(_ p: String) throws -> [Float] {
        try readNumeric(p, memType: H5Types.float, rows: nil)
    }

    public func readInt64s(_ p: String) throws -> [Int64] {
        try readNumeric(p, memType: H5Types.int64, rows: nil)
    }

    /// Rows `rows` of the first dimension (a hyperslab): for a `[T, 2]` dataset, `2·rows.count` values.
    public func readDoubles(_ p: String, rows: Range<Int>) throws -> [Double] {
        try readNumeric(p, memType: H5Types.double, rows: rows)
    }

    public func readFloats(_ p: String, rows: Range<Int>) throws -> [Float] {
        try readNumeric(p, memType: H5Types.float, rows: rows)
    }

    public func readInt64s(_ p: String, rows: Range<Int>) throws -> [Int64] {
        try readNumeric(p, memType: H5Types.int64, rows: rows)
    }

    private func readNumeric<T: BitwiseCopyable & Numeric>(_ p: String, memType: hid_t, rows: Range<Int>?) throws -> [T]
    {
        try withDataset(p) { d in
            try HDF5Dataset.checkNumeric(d, file: self, field: p)
            let shape = try dims(of: d, p)
            let all = 0..<(shape.first ?? 1)
            return try HDF5Dataset.read(
                d, shape: shape, rows: rows ?? all, whole: rows == nil,
                memType: memType, file: self, field: p)
        }
    }

    // MARK: - String datasets

    /// Reads fixed-length byte strings (numpy `S`, as brainsets writes them) or variable-length strings.
    public func readStrings(_ p: String) throws -> [String] {
        try withDataset(p) { d in
            let space = H5Dget_space(d)
            guard space >= 0 else { throw fail("H5Dget_space", p) }
            defer { H5Sclose(space) }
            let t = H5Dget_type(d)
            guard t >= 0 else { throw fail("H5Dget_type", p) }
            defer { H5Tclose(t) }
            return try readStrings(fileType: t, space: space, field: p) { memType, buf in
                H5Dread(d, memType, poyo_h5s_all(), poyo_h5s_all(), poyo_h5p_default(), buf)
            }
        }
    }

    // MARK: - Helpers

    func attributeField(_ name: String, _ p: String) -> String {
        p == "/" || p.isEmpty ? "@\(name)" : "\(p)/@\(name)"
    }

    /// A failed library call on `p` (missing paths are caught earlier and reported as `.missing`).
    func fail(_ call: String, _ p: String) -> DataError {
        .hdf5(file: path, call: call, path: p)
    }

    func withDataset<R>(_ p: String, _ body: (hid_t) throws -> R) throws -> R {
        guard exists(p) else { throw DataError.missing(file: path, field: p) }
        return try HDF5Lock.run {
            HDF5File.silenceErrors()
            Isolation.trace(path: path, field: p)
            let d = H5Dopen2(id, p, poyo_h5p_default())
            guard d >= 0 else {
                throw DataError.invalid(file: path, field: p, reason: "not a readable dataset")
            }
            defer { H5Dclose(d) }
            return try body(d)
        }
    }

    func withGroup<R>(_ p: String, _ body: (hid_t) throws -> R) throws -> R {
        guard exists(p) else { throw DataError.missing(file: path, field: p) }
        return try HDF5Lock.run {
            HDF5File.silenceErrors()
            Isolation.trace(path: path, field: p)
            let g = H5Gopen2(id, p, poyo_h5p_default())
            guard g >= 0 else { throw DataError.invalid(file: path, field: p, reason: "not a group") }
            defer { H5Gclose(g) }
            return try body(g)
        }
    }

    func withAttribute<R>(_ name: String, at p: String, _ body: (hid_t, String) throws -> R) throws -> R {
        let field = attributeField(name, p)
        guard exists(p) else { throw DataError.missing(file: path, field: p) }
        return try HDF5Lock.run {
            HDF5File.silenceErrors()
            Isolation.trace(path: path, field: field)
            guard H5Aexists_by_name(id, p, name, poyo_h5p_default()) > 0 else {
                throw DataError.missing(file: path, field: field)
            }
            let a = H5Aopen_by_name(id, p, name, poyo_h5p_default(), poyo_h5p_default())
            guard a >= 0 else { throw fail("H5Aopen_by_name", field) }
            defer { H5Aclose(a) }
            return try body(a, field)
        }
    }

    /// Dimensions of an open dataset, rejecting ranks above 8 and sizes that overflow or exceed
    /// what the file could hold.
    func dims(of d: hid_t, _ p: String) throws -> [Int] {
        let space = H5Dget_space(d)
        guard space >= 0 else { throw fail("H5Dget_space", p) }
        defer { H5Sclose(space) }
        let rank = H5Sget_simple_extent_ndims(space)
        guard rank >= 0 else { throw fail("H5Sget_simple_extent_ndims", p) }
        guard rank <= 8 else { throw DataError.invalid(file: path, field: p, reason: "rank \(rank) is not supported") }
        var dims = [hsize_t](repeating: 0, count: Int(rank))
        if rank > 0 {
            guard H5Sget_simple_extent_dims(space, &dims, nil) >= 0 else { throw fail("H5Sget_simple_extent_dims", p) }
        }
        let t = H5Dget_type(d)
        let elementSize = t >= 0 ? max(1, H5Tget_size(t)) : 1
        if t >= 0 { H5Tclose(t) }
        var bytes = elementSize
        for x in dims {
            guard x <= UInt64(Int.max) else { throw implausible(p, dims) }
            let (m, o) = bytes.multipliedReportingOverflow(by: Int(x))
            guard !o else { throw implausible(p, dims) }
            bytes = m
        }
        guard bytes <= maxBytes() else { throw implausible(p, dims) }
        return dims.map { Int($0) }
    }

    private func implausible(_ p: String, _ dims: [hsize_t]) -> DataError {
        .invalid(file: path, field: p, reason: "shape \(dims) is larger than the file could hold (corrupt file?)")
    }

    static func typeClass(of t: hid_t) -> HDF5TypeClass {
        switch H5Tget_class(t) {
        case H5T_INTEGER, H5T_ENUM: return .integer  // numpy bool is an HDF5 enum of int8
        case H5T_FLOAT: return .float
        case H5T_STRING: return .string
        default: return .other
        }
    }

    /// Shared by datasets and attributes: `read(memType, buffer)` performs the H5Dread / H5Aread.
    func readStrings(
        fileType t: hid_t, space: hid_t, field: String,
        read: (hid_t, UnsafeMutableRawPointer?) -> herr_t
    ) throws -> [String] {
        guard HDF5File.typeClass(of: t) == .string else {
            throw DataError.invalid(
                file: path, field: field, reason: "expected strings, found \(HDF5File.typeClass(of: t))")
        }
        let points = H5Sget_simple_extent_npoints(space)
        guard points >= 0 else { throw fail("H5Sget_simple_extent_npoints", field) }
        let n = Int(points)
        guard n > 0 else { return [] }
        guard n <= min(1 << 24, maxBytes() / 8) else {
            throw DataError.invalid(file: path, field: field, reason: "claims \(n) strings (corrupt file?)")
        }
        if H5Tis_variable_str(t) > 0 {
            let memType = H5Tcopy(H5Types.cString)
            guard memType >= 0 else { throw fail("H5Tcopy", field) }
            defer { H5Tclose(memType) }
            H5Tset_size(memType, h5tVariable)
            H5Tset_cset(memType, H5Tget_cset(t))
            var ptrs = [UnsafeMutablePointer<CChar>?](repeating: nil, count: n)
            let status = ptrs.withUnsafeMutableBytes { read(memType, $0.baseAddress) }
            guard status >= 0 else { throw fail("read", field) }
            let out = ptrs.map { p -> String in
                guard let p else { return "" }
                return String(decoding: UnsafeRawBufferPointer(start: p, count: strlen(p)), as: UTF8.self)
            }
            _ = ptrs.withUnsafeMutableBytes { H5Dvlen_reclaim(memType, space, poyo_h5p_default(), $0.baseAddress) }
            return out
        }
        let size = H5Tget_size(t)
        guard size > 0, size <= 1 << 16 else {
            throw DataError.invalid(file: path, field: field, reason: "string width \(size)")
        }
        let (total, overflow) = n.multipliedReportingOverflow(by: size)
        guard !overflow, total <= maxBytes() else {
            throw DataError.invalid(
                file: path, field: field, reason: "claims \(n) strings of \(size) bytes (corrupt file?)")
        }
        var bytes = [UInt8](repeating: 0, count: total)
        let status = bytes.withUnsafeMutableBytes { read(t, $0.baseAddress) }
        guard status >= 0 else { throw fail("read", field) }
        var out: [String] = []
        out.reserveCapacity(n)
        for i in 0..<n {
            let chunk = bytes[(i * size)..<((i + 1) * size)]
            let end = chunk.firstIndex(of: 0) ?? chunk.endIndex  // NULLPAD / NULLTERM
            out.append(String(decoding: chunk[chunk.startIndex..<end], as: UTF8.self))
        }
        return out
    }
}

/// libhdf5's predefined type ids, fetched once under `HDF5Lock` (the macros behind them call
/// into the library, which must not happen outside the lock).
enum H5Types {
    static let double = HDF5Lock.run { poyo_h5t_native_double() }
    static let float = HDF5Lock.run { poyo_h5t_native_float() }
    static let int64 = HDF5Lock.run { poyo_h5t_native_int64() }
    static let int32 = HDF5Lock.run { poyo_h5t_native_int32() }
    static let cString = HDF5Lock.run { poyo_h5t_c_s1() }

}

/// The process-wide lock every call into libhdf5 holds (recursive, so wrapper methods nest).
///
/// The Debian libhdf5 is thread-safe but serialises all calls internally, so this costs no
/// parallelism; it makes the serialisation explicit for the wrappers that make several calls.
enum HDF5Lock {
    nonisolated(unsafe) static let mutex: UnsafeMutablePointer<pthread_mutex_t> = {
        let m = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
        initialize(m)
        return m
    }()

    private static func initialize(_ m: UnsafeMutablePointer<pthread_mutex_t>) {
        var attr = pthread_mutexattr_t()
        pthread_mutexattr_init(&attr)
        pthread_mutexattr_settype(&attr, Int32(PTHREAD_MUTEX_RECURSIVE))
        pthread_mutex_init(m, &attr)
        pthread_mutexattr_destroy(&attr)
    }

    @inline(__always)
    static func run<R>(_ body: () throws -> R) rethrows -> R {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body()
    }
}

/// Decodes bytes up to the first NUL as UTF-8 (`String(cString:)` on arrays is deprecated).
func decodeCString(_ buf: [CChar]) -> String {
    let end = buf.firstIndex(of: 0) ?? buf.endIndex
    return String(decoding: buf[..<end].map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

/// `H5T_VARIABLE` is `(size_t)-1`; `size_t` imports as `Int`, so it is -1 here, not `Int.max`.
let h5tVariable = Int(bitPattern: UInt.max)
