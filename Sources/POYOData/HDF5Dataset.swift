import Foundation
import _CHDF5

/// One dataset kept open for repeated range reads (the lazy spike sources use it).
///
/// Counts what it reads (`readCalls`, `elementsRead`), so tests can check that training never
/// reads a whole array.
public final class HDF5Dataset: @unchecked Sendable {
    public let file: HDF5File
    public let field: String
    public let shape: [Int]
    public let typeClass: HDF5TypeClass
    let id: hid_t
    private var stats = (calls: 0, elements: 0)

    public init(_ file: HDF5File, _ field: String) throws {
        guard file.exists(field) else { throw DataError.missing(file: file.path, field: field) }
        let (d, shape, cls): (hid_t, [Int], HDF5TypeClass) = try HDF5Lock.run {
            HDF5File.silenceErrors()
            Isolation.trace(path: file.path, field: field)
            let d = H5Dopen2(file.id, field, poyo_h5p_default())
            guard d >= 0 else {
                throw DataError.invalid(file: file.path, field: field, reason: "not a readable dataset")
            }
            do {
                let shape = try file.dims(of: d, field)
                let t = H5Dget_type(d)
                guard t >= 0 else { throw file.fail("H5Dget_type", field) }
                defer { H5Tclose(t) }
                return (d, shape, HDF5File.typeClass(of: t))
            } catch {
                H5Dclose(d)
                throw error
            }
        }
        self.file = file
        self.field = field
        self.id = d
        self.shape = shape
        self.typeClass = cls
    }

    deinit { HDF5Lock.run { _ = H5Dclose(id) } }

    /// Length of the first dimension.
    public var count: Int { shape.first ?? 1 }

    /// Range reads performed so far and the values they returned.
    public var readCalls: Int { HDF5Lock.run { stats.calls } }
    public var elementsRead: Int { HDF5Lock.run { stats.elements } }

    public func doubles(_ rows: Range<Int>) throws -> [Double] {
        try read(rows, memType: H5Types.double)
    }

    public func int64s(_ rows: Range<Int>) throws -> [Int64] {
        try read(rows, memType: H5Types.int64)
    }

    /// The rows of several ranges of a 1-D dataset in one read (an OR of hyperslabs), concatenated
    /// in the order given. Ranges must be ascending and disjoint.
    public func doubles(blocks: [Range<Int>]) throws -> [Double] {
        let nonEmpty = blocks.filter { !$0.isEmpty }
        guard !nonEmpty.isEmpty else { return [] }
        guard shape.count == 1 else {
            throw DataError.invalid(
                file: file.path, field: field, reason: "block reads need a 1-D dataset, found \(shape)")
        }
        var total = 0
        var previousEnd = 0
        for b in nonEmpty {
            guard b.lowerBound >= previousEnd, b.upperBound <= count else {
                throw DataError.invalid(
                    file: file.path, field: field, reason: "block \(b) outside 0..<\(count) or out of order")
            }
            previousEnd = b.upperBound
            total += b.count
        }
        return try HDF5Lock.run {
            HDF5File.silenceErrors()
            let fileSpace = H5Dget_space(id)
            guard fileSpace >= 0 else { throw file.fail("H5Dget_space", field) }
            defer { H5Sclose(fileSpace) }
            for (k, b) in nonEmpty.enumerated() {
                var start = [hsize_t(b.lowerBound)]
                var n = [hsize_t(b.count)]
                guard H5Sselect_hyperslab(fileSpace, k == 0 ? H5S_SELECT_SET : H5S_SELECT_OR, &start, nil, &n, nil) >= 0
                else {
                    throw file.fail("H5Sselect_hyperslab", field)
                }
            }
            var memCount = [hsize_t(total)]
            let memSpace = H5Screate_simple(1, &memCount, nil)
            guard memSpace >= 0 else { throw file.fail("H5Screate_simple", field) }
            defer { H5Sclose(memSpace) }
            var out = [Double](repeating: 0, count: total)
            let status = out.withUnsafeMutableBytes {
                H5Dread(id, H5Types.double, memSpace, fileSpace, poyo_h5p_default(), $0.baseAddress)
            }
            guard status >= 0 else { throw file.fail("H5Dread", field) }
            stats.calls += 1
            stats.elements += total
            return out
        }
    }

    private func read<T: BitwiseCopyable & Numeric>(_ rows: Range<Int>, memType: hid_t) throws -> [T] {
        try HDF5Lock.run {
            HDF5File.silenceErrors()
            try HDF5Dataset.checkNumeric(id, file: file, field: field)
            let out: [T] = try HDF5Dataset.read(
                id, shape: shape, rows: rows, whole: false, memType: memType,
                file: file, field: field)
            stats.calls += 1
            stats.elements += out.count
            return out
        }
    }

    static func checkNumeric(_ d: hid_t, file: HDF5File, field: String) throws {
        let t = H5Dget_type(d)
        guard t >= 0 else { throw file.fail("H5Dget_type", field) }
        let cls = HDF5File.typeClass(of: t)
        H5Tclose(t)
        guard cls == .integer || cls == .float else {
            throw DataError.invalid(file: file.path, field: field, reason: "expected numbers, found \(cls)")
        }
    }

    /// Reads `rows` of the first dimension (all of it when `whole`) of an open numeric dataset.
    static func read<T: BitwiseCopyable & Numeric>(
        _ d: hid_t, shape: [Int], rows: Range<Int>, whole: Bool,
        memType: hid_t, file: HDF5File, field: String
    ) throws -> [T] {
        if whole {
            let n = shape.reduce(1, *)  // dims(of:) has checked that this cannot overflow
            guard n > 0 else { return [] }
            var out = [T](repeating: 0, count: n)
            let status = out.withUnsafeMutableBytes {
                H5Dread(d, memType, poyo_h5s_all(), poyo_h5s_all(), poyo_h5p_default(), $0.baseAddress)
            }
            guard status >= 0 else { throw file.fail("H5Dread", field) }
            return out
        }
        guard let first = shape.first, rows.lowerBound >= 0, rows.upperBound <= first else {
            throw DataError.invalid(
                file: file.path, field: field, reason: "rows \(rows) outside dataset of shape \(shape)")
        }
        let rowSize = shape.dropFirst().reduce(1, *)
        let n = rows.count * rowSize
        guard n > 0 else { return [] }
        let fileSpace = H5Dget_space(d)
        guard fileSpace >= 0 else { throw file.fail("H5Dget_space", field) }
        defer { H5Sclose(fileSpace) }
        var start = [hsize_t](repeating: 0, count: shape.count)
        start[0] = hsize_t(rows.lowerBound)
        var count = shape.map { hsize_t($0) }
        count[0] = hsize_t(rows.count)
        guard H5Sselect_hyperslab(fileSpace, H5S_SELECT_SET, start, nil, count, nil) >= 0 else {
            throw file.fail("H5Sselect_hyperslab", field)
        }
        let memSpace = H5Screate_simple(Int32(count.count), count, nil)
        guard memSpace >= 0 else { throw file.fail("H5Screate_simple", field) }
        defer { H5Sclose(memSpace) }
        var out = [T](repeating: 0, count: n)
        let status = out.withUnsafeMutableBytes {
            H5Dread(d, memType, memSpace, fileSpace, poyo_h5p_default(), $0.baseAddress)
        }
        guard status >= 0 else { throw file.fail("H5Dread", field) }
        return out
    }
}
