import Compute
import TestSupport
import Testing

@Suite("memory")
struct MemoryTests {
    @Test("upload → download round trip (Float32, Int32), new tensors are zero", arguments: DeviceCase.all)
    func roundTrip(_ dc: DeviceCase) throws {
        let dev = try dc.make()
        let values = randomFloats(37, seed: 1, scale: 100) + [.infinity, -0.0, .leastNonzeroMagnitude]
        let t = try dev.upload(values, shape: [5, 8])
        #expect(t.shape == [5, 8] && t.count == 40 && t.rows == 5 && t.columns == 8)
        expectBitwiseEqual(try dev.download(t), values, "download(upload(x))")

        let ints: [Int32] = [0, -1, .max, .min, 7, 42]
        #expect(try dev.downloadInt32(try dev.upload(ints, shape: [2, 3])) == ints)

        let z = try dev.makeTensor([3, 4], dtype: .float32)
        #expect(try dev.download(z) == [Float](repeating: 0, count: 12))
        #expect(try dev.downloadInt32(try dev.makeTensor([5], dtype: .int32)) == [Int32](repeating: 0, count: 5))
        #expect(try dev.makeTensor([0, 4], dtype: .float32).count == 0)

        // write replaces the contents of an existing tensor
        let w = randomFloats(40, seed: 2)
        try dev.write(w, to: t)
        #expect(try dev.download(t) == w)
    }

    @Test("write of the wrong size or type throws ComputeError", arguments: DeviceCase.all)
    func writeErrors(_ dc: DeviceCase) throws {
        let dev = try dc.make()
        let t = try dev.zeros([2, 3])
        #expect(throws: ComputeError.self) { try dev.write([Float](repeating: 1, count: 5), to: t) }
        #expect(throws: ComputeError.self) { try dev.write([Float](repeating: 1, count: 7), to: t) }
        #expect(throws: ComputeError.self) { try dev.write([Int32](repeating: 1, count: 6), to: t) }
        #expect(throws: ComputeError.self) { try dev.upload([Float](repeating: 1, count: 5), shape: [2, 3]) }
        let it = try dev.makeTensor([4], dtype: .int32)
        #expect(throws: ComputeError.self) { try dev.write([Float](repeating: 1, count: 4), to: it) }
        #expect(throws: ComputeError.self) { try dev.download(it) }
        #expect(throws: ComputeError.self) { try dev.downloadInt32(t) }
        // the failed writes left the tensor alone
        #expect(try dev.download(t) == [Float](repeating: 0, count: 6))
    }

    @Test("a write at an offset changes only its range; download into a buffer", arguments: DeviceCase.all)
    func partialWriteAndDownloadInto(_ dc: DeviceCase) throws {
        let dev = try dc.make()
        let t = try dev.upload((0..<12).map(Float.init), shape: [3, 4])
        let part: [Float] = [-1, -2, -3, -4, -5]
        try part.withUnsafeBufferPointer { try dev.write($0, to: t, offset: 5) }
        try part.withUnsafeBufferPointer { try dev.write(UnsafeBufferPointer(rebasing: $0[0..<0]), to: t, offset: 12) }
        var out = [Float](repeating: .nan, count: 12)
        try out.withUnsafeMutableBufferPointer { try dev.download(t, into: $0) }
        #expect(out == [0, 1, 2, 3, 4, -1, -2, -3, -4, -5, 10, 11])
        // Past the end, a negative offset, the wrong dtype, a short buffer: errors, nothing written.
        part.withUnsafeBufferPointer { p in
            #expect(throws: ComputeError.self) { try dev.write(p, to: t, offset: 8) }
            #expect(throws: ComputeError.self) { try dev.write(p, to: t, offset: -1) }
            #expect(throws: ComputeError.self) {
                try dev.write(p, to: try dev.makeTensor([8], dtype: .int32), offset: 0)
            }
        }
        var short = [Float](repeating: 0, count: 11)
        short.withUnsafeMutableBufferPointer { s in
            #expect(throws: ComputeError.self) { try dev.download(t, into: s) }
        }
        #expect(try dev.download(t) == [0, 1, 2, 3, 4, -1, -2, -3, -4, -5, 10, 11])
    }

    @Test("a tensor of another device is refused", arguments: DeviceCase.all)
    func foreignTensor(_ dc: DeviceCase) throws {
        let a = try dc.make()
        let b = try dc.make()
        let t = try a.upload([Float](arrayLiteral: 1, 2, 3), shape: [3])
        #expect(throws: ComputeError.wrongDevice(op: "download")) { try b.download(t) }
        #expect(throws: ComputeError.self) { try b.write([Float](repeating: 0, count: 3), to: t) }
    }

    @Test("readbackCount counts downloads only", arguments: DeviceCase.all)
    func readbacks(_ dc: DeviceCase) throws {
        let dev = try dc.make()
        let n0 = dev.readbackCount
        let t = try dev.upload([Float](arrayLiteral: 1, 2, 3, 4), shape: [4])
        let it = try dev.upload([Int32(1), 2], shape: [2])
        try dev.write([Float](arrayLiteral: 5, 6, 7, 8), to: t)
        dev.scale(t, by: 2)
        #expect(dev.readbackCount == n0, "upload/write/ops must not read back")
        _ = try dev.download(t)
        #expect(dev.readbackCount == n0 + 1)
        _ = try dev.downloadInt32(it)
        #expect(dev.readbackCount == n0 + 2)
        let s = try dev.zeros([1])
        dev.sumOfSquares(t, into: s, accumulate: false)
        #expect(try dev.readScalar(s) == 4 * (25 + 36 + 49 + 64))
        #expect(dev.readbackCount == n0 + 3)
    }
}
