import Foundation
import _CHDF5

/// A 1-D numeric column that can be read by row ranges: an open HDF5 dataset (`HDF5Dataset`) or
/// the same bytes read directly from the file (`RawColumn`). The lazy spike sources use either.
public protocol NumericColumn: AnyObject, Sendable {
    var count: Int { get }
    /// `file#dataset`, for errors and equality.
    var identity: String { get }
    var filePath: String { get }
    var field: String { get }
    func doubles(_ rows: Range<Int>) throws -> [Double]
    func int64s(_ rows: Range<Int>) throws -> [Int64]
    /// Several ascending, disjoint row ranges, concatenated.
    func doubles(blocks: [Range<Int>]) throws -> [Double]
    var readCalls: Int { get }
    var elementsRead: Int { get }
}

extension HDF5Dataset: NumericColumn {
    public var identity: String { "\(file.path)#\(field)" }
    public var filePath: String { file.path }

    /// Where an unfiltered 1-D dataset's values sit in the file (one piece if contiguous, one per
    /// chunk if chunked), so another process can read them without libhdf5; nil for compressed
    /// or partly unallocated datasets and for non-numeric types.
    func rawLayout() -> RawLayout? {
        HDF5Lock.run { () -> RawLayout? in
            guard shape.count == 1, count > 0 else { return nil }
            let dcpl = H5Dget_create_plist(id)
            guard dcpl >= 0 else { return nil }
            defer { H5Pclose(dcpl) }
            guard H5Pget_nfilters(dcpl) == 0 else { return nil }
            let t = H5Dget_type(id)
            guard t >= 0 else { return nil }
            defer { H5Tclose(t) }
            let size = H5Tget_size(t)
            let kind: RawLayout.Kind
            switch H5Tget_class(t) {
            case H5T_FLOAT:
                guard size == 4 || size == 8 else { return nil }
                kind = .float
            case H5T_INTEGER:
                guard [1, 2, 4, 8].contains(size) else { return nil }
                kind = H5Tget_sign(t) == H5T_SGN_NONE ? .unsigned : .signed
            default: return nil
            }
            let order = H5Tget_order(t)
            guard order == H5T_ORDER_LE || order == H5T_ORDER_BE else { return nil }
            var pieces: [RawLayout.Piece] = []
            switch H5Pget_layout(dcpl) {
            case H5D_CONTIGUOUS:
                let address = H5Dget_offset(id)
                guard address != haddr_t.max, H5Dget_storage_size(id) == UInt64(count * size) else { return nil }
                pieces = [RawLayout.Piece(firstRow: 0, rows: count, offset: UInt64(address))]
            case H5D_CHUNKED:
                var chunk: [hsize_t] = [0]
                guard H5Pget_chunk(dcpl, 1, &chunk) == 1, chunk[0] > 0, chunk[0] <= UInt64(Int32.max) else {
                    return nil
                }
                let space = H5Dget_space(id)
                guard space >= 0 else { return nil }
                defer { H5Sclose(space) }
                var n: hsize_t = 0
                guard H5Dget_num_chunks(id, space, &n) >= 0, n <= 1 << 24 else { return nil }
                for i in 0..<n {
                    var start: [hsize_t] = [0]
                    var mask: UInt32 = 0
                    var address: haddr_t = 0
                    var bytes: hsize_t = 0
                    guard H5Dget_chunk_info(id, space, i, &start, &mask, &address, &bytes) >= 0,
                        address != haddr_t.max, bytes == chunk[0] * hsize_t(size)
                    else { return nil }
                    pieces.append(
                        RawLayout.Piece(
                            firstRow: Int(start[0]), rows: min(Int(chunk[0]), count - Int(start[0])),
                            offset: UInt64(address)))
                }
                pieces.sort { $0.firstRow < $1.firstRow }
            default:
                return nil
            }
            // The pieces must tile 0..<count exactly (no unallocated chunk).
            var next = 0
            for p in pieces {
                guard p.firstRow == next, p.rows > 0 else { return nil }
                next += p.rows
            }
            guard next == count else { return nil }
            return RawLayout(
                pieces: pieces, count: count, elementSize: size, kind: kind, bigEndian: order == H5T_ORDER_BE)
        }
    }
}

/// Byte layout of a numeric column: pieces of consecutive rows stored contiguously in the file.
struct RawLayout: Equatable, Sendable {
    enum Kind: UInt8, Sendable {
        case float = 0
        case signed = 1
        case unsigned = 2
    }
    struct Piece: Equatable, Sendable {
        var firstRow: Int
        var rows: Int
        var offset: UInt64
    }
    /// Ascending, tiling `0..<count`.
    var pieces: [Piece]
    var count: Int
    var elementSize: Int
    var kind: Kind
    var bigEndian: Bool
}

/// A contiguous numeric dataset read with `pread`, no libhdf5: how a process that must not parse
/// an untrusted file's metadata (the parent of an `Isolation` probe) reads spike windows.
public final class RawColumn: NumericColumn, @unchecked Sendable {
    public let filePath: String
    public let field: String
    let layout: RawLayout
    private let file: RawFile
    private var fd: Int32 { file.fd }
    private let lock = NSLock()
    private var stats = (calls: 0, elements: 0)

    init(file: RawFile, field: String, layout: RawLayout) throws {
        let path = file.path
        var next = 0
        for p in layout.pieces {
            let (bytes, overflow) = p.rows.multipliedReportingOverflow(by: layout.elementSize)
            guard p.firstRow == next, p.rows > 0, !overflow, p.offset <= UInt64(Int.max - bytes),
                Int(p.offset) + bytes <= file.size
            else {
                throw DataError.invalid(file: path, field: field, reason: "its data lies beyond the end of the file")
            }
            next += p.rows
        }
        guard next == layout.count else {
            throw DataError.invalid(file: path, field: field, reason: "its stored pieces do not cover the dataset")
        }
        self.filePath = path
        self.field = field
        self.layout = layout
        self.file = file
    }

    public var count: Int { layout.count }
    public var identity: String { "\(filePath)#\(field)" }
    public var readCalls: Int { lock.withLock { stats.calls } }
    public var elementsRead: Int { lock.withLock { stats.elements } }

    public func doubles(_ rows: Range<Int>) throws -> [Double] { try decode(rows) }
    public func int64s(_ rows: Range<Int>) throws -> [Int64] { try decode(rows) }

    public func doubles(blocks: [Range<Int>]) throws -> [Double] {
        var out: [Double] = []
        out.reserveCapacity(blocks.reduce(0) { $0 + $1.count })
        for b in blocks where !b.isEmpty { out += try decode(b, count: false) }
        lock.withLock {
            stats.calls += 1
            stats.elements += out.count
        }
        return out
    }

    private func decode<T: RawNumber>(_ rows: Range<Int>, count counted: Bool = true) throws -> [T] {
        guard rows.lowerBound >= 0, rows.upperBound <= layout.count else {
            throw DataError.invalid(file: filePath, field: field, reason: "rows \(rows) outside 0..<\(layout.count)")
        }
        let n = rows.count
        guard n > 0 else { return [] }
        let size = layout.elementSize
        var bytes = [UInt8](repeating: 0, count: n * size)
        // First piece holding a wanted row, then piece by piece.
        var lo = 0
        var hi = layout.pieces.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if layout.pieces[mid].firstRow + layout.pieces[mid].rows <= rows.lowerBound {
                lo = mid + 1
            } else {
                hi = mid
            }
        }
        var row = rows.lowerBound
        var k = lo
        while row < rows.upperBound && k < layout.pieces.count {
            let p = layout.pieces[k]
            let take = min(rows.upperBound, p.firstRow + p.rows) - row
            var done = 0
            let want = take * size
            let into = (row - rows.lowerBound) * size
            let from = Int(p.offset) + (row - p.firstRow) * size
            while done < want {
                let r = bytes.withUnsafeMutableBytes { buf in
                    pread(fd, buf.baseAddress! + into + done, want - done, off_t(from + done))
                }
                if r < 0 && errno == EINTR { continue }
                guard r > 0 else {
                    throw DataError.io(path: filePath, reason: "cannot read '\(field)' (errno \(errno))")
                }
                done += r
            }
            row += take
            k += 1
        }
        var out = [T](repeating: .zero, count: n)
        bytes.withUnsafeBytes { raw in
            for i in 0..<n { out[i] = T.decode(raw, at: i * size, layout: layout) }
        }
        if counted {
            lock.withLock {
                stats.calls += 1
                stats.elements += n
            }
        }
        return out
    }
}

/// A file opened read-only for `pread`, shared by the columns read from it.
public final class RawFile: @unchecked Sendable {
    public let path: String
    let fd: Int32
    let size: Int

    init(path: String) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw DataError.io(path: path, reason: "cannot open for reading (errno \(errno))") }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            close(fd)
            throw DataError.io(path: path, reason: "cannot stat (errno \(errno))")
        }
        self.path = path
        self.fd = fd
        self.size = Int(st.st_size)
    }

    deinit { close(fd) }
}

/// Decoding one element of a `RawLayout` into Double or Int64.
protocol RawNumber {
    static var zero: Self { get }
    static func decode(_ raw: UnsafeRawBufferPointer, at: Int, layout: RawLayout) -> Self
}

private func bits(_ raw: UnsafeRawBufferPointer, _ at: Int, _ size: Int, bigEndian: Bool) -> UInt64 {
    var v: UInt64 = 0
    for b in 0..<size {
        let byte = UInt64(raw[at + (bigEndian ? size - 1 - b : b)])
        v |= byte << (8 * UInt64(b))
    }
    return v
}

extension Double: RawNumber {
    static func decode(_ raw: UnsafeRawBufferPointer, at: Int, layout l: RawLayout) -> Double {
        let v = bits(raw, at, l.elementSize, bigEndian: l.bigEndian)
        switch l.kind {
        case .float:
            return l.elementSize == 8 ? Double(bitPattern: v) : Double(Float(bitPattern: UInt32(truncatingIfNeeded: v)))
        case .signed:
            let s = UInt64(64 - 8 * l.elementSize)
            return Double(Int64(bitPattern: v << s) >> Int64(s))
        case .unsigned: return Double(v)
        }
    }
}

extension Int64: RawNumber {
    static func decode(_ raw: UnsafeRawBufferPointer, at: Int, layout l: RawLayout) -> Int64 {
        let v = bits(raw, at, l.elementSize, bigEndian: l.bigEndian)
        switch l.kind {
        case .float:
            let d = Double.decode(raw, at: at, layout: l)
            return d.isFinite && abs(d) < 0x1p62 ? Int64(d) : Int64.min
        case .signed:
            let s = UInt64(64 - 8 * l.elementSize)
            return Int64(bitPattern: v << s) >> Int64(s)
        case .unsigned: return v > UInt64(Int64.max) ? Int64.min : Int64(v)
        }
    }
}
