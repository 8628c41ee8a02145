import Foundation
import _CHDF5

extension HDF5File {
    // MARK: - Attributes (on the group or dataset at `p`)

    public func hasAttribute(_ name: String, at p: String) -> Bool {
        guard exists(p) else { return false }
        return HDF5Lock.run {
            HDF5File.silenceErrors()
            return H5Aexists_by_name(id, p, name, poyo_h5p_default()) > 0
        }
    }

    /// A string attribute: scalar (h5py `str`) or the single element of a byte-string array.
    public func attributeString(_ name: String, at p: String) throws -> String {
        let values = try attributeStrings(name, at: p)
        guard values.count == 1 else {
            throw DataError.invalid(
                file: path, field: attributeField(name, p),
                reason: "expected one string, found \(values.count)")
        }
        return values[0]
    }

    /// A string-array attribute (e.g. `timekeys`, fixed-length bytes as h5py writes `np.bytes_`).
    public func attributeStrings(_ name: String, at p: String) throws -> [String] {
        try withAttribute(name, at: p) { a, field in
            let space = H5Aget_space(a)
            guard space >= 0 else { throw fail("H5Aget_space", field) }
            defer { H5Sclose(space) }
            let t = H5Aget_type(a)
            guard t >= 0 else { throw fail("H5Aget_type", field) }
            defer { H5Tclose(t) }
            return try readStrings(fileType: t, space: space, field: field) { memType, buf in
                H5Aread(a, memType, buf)
            }
        }
    }

    /// A numeric attribute, scalar or array, as doubles.
    public func attributeDoubles(_ name: String, at p: String) throws -> [Double] {
        try withAttribute(name, at: p) { a, field in
            let t = H5Aget_type(a)
            guard t >= 0 else { throw fail("H5Aget_type", field) }
            defer { H5Tclose(t) }
            let cls = HDF5File.typeClass(of: t)
            guard cls == .integer || cls == .float else {
                throw DataError.invalid(file: path, field: field, reason: "expected a number, found \(cls)")
            }
            let space = H5Aget_space(a)
            guard space >= 0 else { throw fail("H5Aget_space", field) }
            let n = Int(H5Sget_simple_extent_npoints(space))
            H5Sclose(space)
            guard n > 0 else { return [] }
            guard n <= 1 << 20 else { throw DataError.invalid(file: path, field: field, reason: "claims \(n) values") }
            if H5Tget_class(t) == H5T_ENUM {
                // numpy bools are enums of int8, which HDF5 will not convert: read raw values.
                let size = H5Tget_size(t)
                guard [1, 2, 4, 8].contains(size) else {
                    throw DataError.invalid(file: path, field: field, reason: "unsupported enum size \(size)")
                }
                var raw = [UInt8](repeating: 0, count: n * size)
                guard H5Aread(a, t, &raw) >= 0 else { throw fail("H5Aread", field) }
                return (0..<n).map { i in
                    var v: Int64 = 0
                    for b in 0..<size { v |= Int64(raw[i * size + b]) << (8 * Int64(b)) }
                    let shift = Int64(64 - 8 * size)
                    return Double((v << shift) >> shift)  // sign-extend (little-endian host)
                }
            }
            var out = [Double](repeating: 0, count: n)
            guard H5Aread(a, H5Types.double, &out) >= 0 else { throw fail("H5Aread", field) }
            return out
        }
    }

    public func attributeDouble(_ name: String, at p: String) throws -> Double {
        let values = try attributeDoubles(name, at: p)
        guard values.count == 1 else {
            throw DataError.invalid(
                file: path, field: attributeField(name, p),
                reason: "expected one number, found \(values.count)")
        }
        return values[0]
    }

    /// An integer attribute (h5py `int` or numpy bool); non-integral values are rejected.
    public func attributeInt(_ name: String, at p: String) throws -> Int {
        let v = try attributeDouble(name, at: p)
        guard v.rounded() == v, abs(v) < 0x1p53 else {
            throw DataError.invalid(
                file: path, field: attributeField(name, p), reason: "expected an integer, found \(v)")
        }
        return Int(v)
    }
}
