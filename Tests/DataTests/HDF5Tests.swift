import Foundation
import TestSupport
import Testing
import _CHDF5

@testable import POYOData

@Suite struct HDF5Tests {
    @Test func roundTripsDatasetsAndAttributes() throws {
        let dir = try makeTempDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("t.h5").path
        do {
            let f = try HDF5File(creatingAt: path)
            try f.createGroup("g")
            try f.write([1.5, 2.5, 3.5, 4.5, 5.5, 6.5], shape: [3, 2], to: "g/d2")
            try f.write([Float(0.25), -1], to: "g/f")
            try f.write([Int64(7), -3, 1 << 40], to: "g/i")
            try f.write(strings: ["alpha", "b", "", "γδ"], to: "g/s")
            try f.write([Double](), to: "g/empty")
            try f.setAttribute("object", string: "Data", at: "/")
            try f.setAttribute("timekeys", bytesArray: ["start", "end"], at: "g")
            try f.setAttribute("none", bytesArray: [], at: "g")
            try f.setAttribute("x", double: 0.125, at: "g/d2")
            try f.setAttribute("n", int: 42, at: "g")
            try f.setAttribute("v", doubles: [1, 2], at: "g")
        }
        let f = try HDF5File(readingAt: path)
        #expect(try f.readDoubles("g/d2") == [1.5, 2.5, 3.5, 4.5, 5.5, 6.5])
        #expect(try f.shape("g/d2") == [3, 2])
        #expect(try f.readDoubles("g/d2", rows: 1..<3) == [3.5, 4.5, 5.5, 6.5])
        #expect(try f.readFloats("g/d2", rows: 0..<1) == [1.5, 2.5])
        #expect(try f.readFloats("g/f") == [0.25, -1])
        #expect(try f.readInt64s("g/i") == [7, -3, 1 << 40])
        #expect(try f.readDoubles("g/i") == [7, -3, Double(1 << 40)])
        #expect(try f.readInt64s("g/i", rows: 2..<3) == [1 << 40])
        #expect(try f.readStrings("g/s") == ["alpha", "b", "", "γδ"])
        #expect(try f.readDoubles("g/empty") == [])
        #expect(try f.typeClass("g/s") == .string)
        #expect(try f.typeClass("g/f") == .float)
        #expect(try f.typeClass("g/i") == .integer)
        #expect(try f.attributeString("object", at: "/") == "Data")
        #expect(try f.attributeStrings("timekeys", at: "g") == ["start", "end"])
        #expect(try f.attributeStrings("none", at: "g") == [])
        #expect(try f.attributeDouble("x", at: "g/d2") == 0.125)
        #expect(try f.attributeInt("n", at: "g") == 42)
        #expect(try f.attributeDoubles("v", at: "g") == [1, 2])
        #expect(try f.children(of: "g") == ["d2", "empty", "f", "i", "s"])
        #expect(try f.children(of: "/") == ["g"])
        #expect(f.isGroup("g") && !f.isGroup("g/d2") && !f.isGroup("nope"))
        #expect(f.exists("g/d2") && !f.exists("g/nope/deeper"))
        #expect(f.hasAttribute("n", at: "g") && !f.hasAttribute("n", at: "nope"))
    }

    /// The editing calls the `recording` fuzz target builds its files with.
    @Test func editsAFileInPlace() throws {
        let dir = try makeTempDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("t.h5").path
        do {
            let f = try HDF5File(creatingAt: path)
            try f.write([1.0, 2.0], to: "a")
            try f.write([1.0], to: "b")
            try f.setAttribute("x", double: 1, at: "a")
        }
        do {
            let f = try HDF5File(editingAt: path)
            try f.delete("b")
            try f.deleteAttribute("x", at: "a")
            try f.write([Int32(-5), 1 << 30], to: "c")
            try f.write(variableStrings: ["train", "", "γδ"], to: "s")
            #expect(throws: DataError.self) { try f.delete("nope") }
            #expect(throws: DataError.self) { try f.deleteAttribute("x", at: "a") }
        }
        let f = try HDF5File(readingAt: path)
        #expect(try f.children(of: "/") == ["a", "c", "s"])
        #expect(!f.hasAttribute("x", at: "a"))
        #expect(try f.readInt64s("c") == [-5, 1 << 30])
        #expect(try f.typeInfo("c") == (HDF5TypeClass.integer, 4))
        #expect(try f.readStrings("s") == ["train", "", "γδ"])
        #expect(throws: DataError.self) { try HDF5File(editingAt: dir.appendingPathComponent("none.h5").path) }
    }

    @Test func failuresNameFileAndPath() throws {
        let dir = try makeTempDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("t.h5").path
        do {
            let f = try HDF5File(creatingAt: path)
            try f.write(strings: ["x"], to: "s")
            try f.write([1.0], to: "d")
        }
        let f = try HDF5File(readingAt: path)
        #expect(throws: DataError.missing(file: path, field: "a/b")) { try f.readDoubles("a/b") }
        #expect(throws: DataError.missing(file: path, field: "@id")) { try f.attributeString("id", at: "/") }
        #expect(throws: DataError.missing(file: path, field: "d/@units")) { try f.attributeString("units", at: "d") }
        #expect(throws: DataError.invalid(file: path, field: "s", reason: "expected numbers, found string")) {
            try f.readDoubles("s")
        }
        #expect(throws: DataError.invalid(file: path, field: "d", reason: "rows 0..<5 outside dataset of shape [1]")) {
            try f.readDoubles("d", rows: 0..<5)
        }
        let err = DataError.missing(file: path, field: "spikes/timestamps")
        #expect(err.description == "\(path): missing 'spikes/timestamps'")
    }

    @Test func sameContentGivesSameBytes() throws {
        let dir = try makeTempDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        var blobs: [Data] = []
        for name in ["a.h5", "b.h5"] {
            let url = dir.appendingPathComponent(name)
            do {
                let f = try HDF5File(creatingAt: url.path)
                try f.createGroup("g")
                try f.write([1.0, 2.0], to: "g/d")
                try f.setAttribute("object", string: "Data", at: "g")
            }
            blobs.append(try Data(contentsOf: url))
        }
        #expect(blobs[0] == blobs[1])
    }

    /// What h5py writes that our writer does not: numpy bool attributes (int8 enums) and
    /// variable-length string datasets.
    @Test func readsH5pyStyleBoolsAndVariableLengthStrings() throws {
        let dir = try makeTempDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("h5py.h5").path
        do {
            let f = try HDF5File(creatingAt: path)
            let boolType = H5Tenum_create(poyo_h5t_native_uint8())  // h5py uses int8; same bytes
            var no: UInt8 = 0
            var yes: UInt8 = 1
            H5Tenum_insert(boolType, "FALSE", &no)
            H5Tenum_insert(boolType, "TRUE", &yes)
            let scalar = H5Screate(H5S_SCALAR)
            let a = H5Acreate2(f.id, "flag", boolType, scalar, poyo_h5p_default(), poyo_h5p_default())
            #expect(H5Awrite(a, boolType, &yes) >= 0)
            H5Aclose(a)
            H5Sclose(scalar)
            H5Tclose(boolType)

            let strType = H5Tcopy(poyo_h5t_c_s1())
            H5Tset_size(strType, h5tVariable)
            var dims: [hsize_t] = [2]
            let space = H5Screate_simple(1, &dims, nil)
            let d = H5Dcreate2(
                f.id, "names", strType, space, poyo_h5p_default(), poyo_h5p_default(), poyo_h5p_default())
            "first".withCString { p0 in
                "second one".withCString { p1 in
                    var ptrs: [UnsafePointer<CChar>?] = [p0, p1]
                    #expect(H5Dwrite(d, strType, poyo_h5s_all(), poyo_h5s_all(), poyo_h5p_default(), &ptrs) >= 0)
                }
            }
            H5Dclose(d)
            H5Sclose(space)
            H5Tclose(strType)
        }
        let f = try HDF5File(readingAt: path)
        #expect(try f.attributeInt("flag", at: "/") == 1)
        #expect(try f.readStrings("names") == ["first", "second one"])
    }
}
