import Foundation
import _CHDF5

/// Writing counterparts of `HDF5File`'s readers, enough for the brainsets layout.
///
/// Objects are created without modification times (`H5Pset_obj_track_times(false)`), so the same
/// content always gives the same bytes: synthetic datasets are reproducible down to the file.
extension HDF5File {
    /// Creates group `p`; its parent must exist.
    public func createGroup(_ p: String) throws {
        try HDF5Lock.run { try createGroupLocked(p) }
    }

    private func createGroupLocked(_ p: String) throws {
        HDF5File.silenceErrors()
        let gcpl = H5Pcreate(poyo_h5p_group_create())
        guard gcpl >= 0 else { throw fail("H5Pcreate", p) }
        defer { H5Pclose(gcpl) }
        H5Pset_obj_track_times(gcpl, false)
        let g = H5Gcreate2(id, p, poyo_h5p_default(), gcpl, poyo_h5p_default())
        guard g >= 0 else { throw fail("H5Gcreate2", p) }
        H5Gclose(g)
    }

    /// Writes `values` (row-major) as an f64 dataset of `shape` (defaults to 1-D).
    public func write(_ values: [Double], shape: [Int]? = nil, to p: String) throws {
        try writeNumeric(values, shape: shape ?? [values.count], type: H5Types.double, to: p)
    }

    /// Writes `values` as an f32 dataset.
    public func write(_ values: [Float], shape: [Int]? = nil, to p: String) throws {
        try writeNumeric(values, shape: shape ?? [values.count], type: H5Types.float, to: p)
    }

    /// Writes `values` as an i64 dataset.
    public func write(_ values: [Int64], shape: [Int]? = nil, to p: String) throws {
        try writeNumeric(values, shape: shape ?? [values.count], type: H5Types.int64, to: p)
    }

    /// Writes `values` as an i32 dataset.
    public func write(_ values: [Int32], shape: [Int]? = nil, to p: String) throws {
        try writeNumeric(values, shape: shape ?? [values.count], type: H5Types.int32, to: p)
    }

    /// Writes a 1-D variable-length UTF-8 string dataset (what pynwb and h5py write for `str`).
    public func write(variableStrings strings: [String], to p: String) throws {
        try HDF5Lock.run {
            let type = H5Tcopy(H5Types.cString)
            guard type >= 0 else { throw fail("H5Tcopy", p) }
            defer { H5Tclose(type) }
            H5Tset_size(type, h5tVariable)
            H5Tset_cset(type, H5T_CSET_UTF8)
            // The C strings must outlive H5Dwrite: copy them out, free them after.
            let copies = strings.map { strdup($0) }
            defer {
                for copy in copies { free(copy) }
            }
            var pointers = copies.map { UnsafePointer<CChar>($0) }
            try createDataset(p, type: type, shape: [strings.count]) { d in
                guard !strings.isEmpty else { return 0 }
                return H5Dwrite(d, type, poyo_h5s_all(), poyo_h5s_all(), poyo_h5p_default(), &pointers)
            }
        }
    }

    /// Removes the link `p` (a dataset or group) from its parent group.
    public func delete(_ p: String) throws {
        try HDF5Lock.run {
            HDF5File.silenceErrors()
            guard H5Ldelete(id, p, poyo_h5p_default()) >= 0 else { throw fail("H5Ldelete", p) }
        }
    }

    /// Removes attribute `name` of object `p`.
    public func deleteAttribute(_ name: String, at p: String) throws {
        try HDF5Lock.run {
            HDF5File.silenceErrors()
            guard H5Adelete_by_name(id, p, name, poyo_h5p_default()) >= 0 else {
                throw fail("H5Adelete_by_name", attributeField(name, p))
            }
        }
    }

    /// Writes a 1-D fixed-length byte-string dataset (numpy `S<n>`, NUL-padded), as brainsets does.
    public func write(strings: [String], to p: String) throws {
        try HDF5Lock.run { try writeStringsLocked(strings, to: p) }
    }

    private func writeStringsLocked(_ strings: [String], to p: String) throws {
        let (type, bytes) = try fixedStrings(strings, field: p)
        defer { H5Tclose(type) }
        try createDataset(p, type: type, shape: [strings.count]) { d in
            guard !strings.isEmpty else { return 0 }
            return bytes.withUnsafeBytes {
                H5Dwrite(d, type, poyo_h5s_all(), poyo_h5s_all(), poyo_h5p_default(), $0.baseAddress)
            }
        }
    }

    /// A scalar variable-length UTF-8 string attribute (what h5py writes for a Python `str`).
    public func setAttribute(_ name: String, string: String, at p: String) throws {
        try HDF5Lock.run { try setStringAttributeLocked(name, string: string, at: p) }
    }

    private func setStringAttributeLocked(_ name: String, string: String, at p: String) throws {
        let field = attributeField(name, p)
        let type = H5Tcopy(H5Types.cString)
        guard type >= 0 else { throw fail("H5Tcopy", field) }
        defer { H5Tclose(type) }
        H5Tset_size(type, h5tVariable)
        H5Tset_cset(type, H5T_CSET_UTF8)
        try createAttribute(name, at: p, type: type, shape: nil) { a in
            string.withCString { cs in
                var ptr: UnsafePointer<CChar>? = cs
                return H5Awrite(a, type, &ptr)
            }
        }
    }

    /// A fixed-length byte-string array attribute (h5py's `np.array([...], dtype="S")`).
    public func setAttribute(_ name: String, bytesArray: [String], at p: String) throws {
        try HDF5Lock.run { try setBytesAttributeLocked(name, bytesArray: bytesArray, at: p) }
    }

    private func setBytesAttributeLocked(_ name: String, bytesArray: [String], at p: String) throws {
        let field = attributeField(name, p)
        let (type, bytes) = try fixedStrings(bytesArray, field: field)
        defer { H5Tclose(type) }
        try createAttribute(name, at: p, type: type, shape: [bytesArray.count]) { a in
            guard !bytesArray.isEmpty else { return 0 }
            return bytes.withUnsafeBytes { H5Awrite(a, type, $0.baseAddress) }
        }
    }

    /// A scalar f64 attribute.
    public func setAttribute(_ name: String, double: Double, at p: String) throws {
        var v = double
        try createAttribute(name, at: p, type: H5Types.double, shape: nil) { a in
            H5Awrite(a, H5Types.double, &v)
        }
    }

    /// A 1-D f64 array attribute.
    public func setAttribute(_ name: String, doubles: [Double], at p: String) throws {
        try createAttribute(name, at: p, type: H5Types.double, shape: [doubles.count]) { a in
            guard !doubles.isEmpty else { return 0 }
            return doubles.withUnsafeBytes { H5Awrite(a, H5Types.double, $0.baseAddress) }
        }
    }

    /// A scalar i64 attribute.
    public func setAttribute(_ name: String, int: Int64, at p: String) throws {
        var v = int
        try createAttribute(name, at: p, type: H5Types.int64, shape: nil) { a in
            H5Awrite(a, H5Types.int64, &v)
        }
    }

    // MARK: - Helpers

    private func writeNumeric<T: BitwiseCopyable>(_ values: [T], shape: [Int], type: hid_t, to p: String) throws {
        guard shape.reduce(1, *) == values.count else {
            throw DataError.invalid(file: path, field: p, reason: "\(values.count) values do not fill shape \(shape)")
        }
        try createDataset(p, type: type, shape: shape) { d in
            guard !values.isEmpty else { return 0 }
            return values.withUnsafeBytes {
                H5Dwrite(d, type, poyo_h5s_all(), poyo_h5s_all(), poyo_h5p_default(), $0.baseAddress)
            }
        }
    }

    private func createDataset(_ p: String, type: hid_t, shape: [Int], write: (hid_t) -> herr_t) throws {
        try HDF5Lock.run { try createDatasetLocked(p, type: type, shape: shape, write: write) }
    }

    private func createDatasetLocked(_ p: String, type: hid_t, shape: [Int], write: (hid_t) -> herr_t) throws {
        HDF5File.silenceErrors()
        let dims = shape.map { hsize_t($0) }
        let space = H5Screate_simple(Int32(dims.count), dims, nil)
        guard space >= 0 else { throw fail("H5Screate_simple", p) }
        defer { H5Sclose(space) }
        let dcpl = H5Pcreate(poyo_h5p_dataset_create())
        guard dcpl >= 0 else { throw fail("H5Pcreate", p) }
        defer { H5Pclose(dcpl) }
        H5Pset_obj_track_times(dcpl, false)
        let d = H5Dcreate2(id, p, type, space, poyo_h5p_default(), dcpl, poyo_h5p_default())
        guard d >= 0 else { throw fail("H5Dcreate2", p) }
        defer { H5Dclose(d) }
        guard write(d) >= 0 else { throw fail("H5Dwrite", p) }
    }

    /// `shape == nil` makes a scalar attribute.
    private func createAttribute(
        _ name: String, at p: String, type: hid_t, shape: [Int]?,
        write: (hid_t) -> herr_t
    ) throws {
        try HDF5Lock.run { try createAttributeLocked(name, at: p, type: type, shape: shape, write: write) }
    }

    private func createAttributeLocked(
        _ name: String, at p: String, type: hid_t, shape: [Int]?,
        write: (hid_t) -> herr_t
    ) throws {
        HDF5File.silenceErrors()
        let field = attributeField(name, p)
        let space: hid_t
        if let shape {
            let dims = shape.map { hsize_t($0) }
            space = H5Screate_simple(Int32(dims.count), dims, nil)
        } else {
            space = H5Screate(H5S_SCALAR)
        }
        guard space >= 0 else { throw fail("H5Screate", field) }
        defer { H5Sclose(space) }
        let a = H5Acreate_by_name(id, p, name, type, space, poyo_h5p_default(), poyo_h5p_default(), poyo_h5p_default())
        guard a >= 0 else { throw fail("H5Acreate_by_name", field) }
        defer { H5Aclose(a) }
        guard write(a) >= 0 else { throw fail("H5Awrite", field) }
    }

    /// A NUL-padded fixed-length string type as wide as the longest string (at least 1 byte,
    /// as numpy's `S1` for an empty array), and the packed bytes. Caller closes the type.
    private func fixedStrings(_ strings: [String], field: String) throws -> (hid_t, [UInt8]) {
        let width = max(1, strings.map { $0.utf8.count }.max() ?? 1)
        let type = H5Tcopy(H5Types.cString)
        guard type >= 0 else { throw fail("H5Tcopy", field) }
        H5Tset_size(type, width)
        H5Tset_strpad(type, H5T_STR_NULLPAD)
        var bytes = [UInt8](repeating: 0, count: width * strings.count)
        for (i, s) in strings.enumerated() {
            for (j, b) in s.utf8.enumerated() { bytes[i * width + j] = b }
        }
        return (type, bytes)
    }
}
