import Foundation

/// Host memory behind a CPU tensor: 64-byte aligned, zero-filled, freed with the tensor.
final class HostBuffer: @unchecked Sendable {
    let raw: UnsafeMutableRawPointer
    let bytes: Int

    init?(bytes: Int) {
        var p: UnsafeMutableRawPointer?
        guard posix_memalign(&p, 64, max(bytes, 64)) == 0, let p else { return nil }
        memset(p, 0, max(bytes, 64))
        raw = p
        self.bytes = bytes
    }

    deinit { free(raw) }

    var floats: UnsafeMutablePointer<Float> { raw.assumingMemoryBound(to: Float.self) }
    var ints: UnsafeMutablePointer<Int32> { raw.assumingMemoryBound(to: Int32.self) }
}
