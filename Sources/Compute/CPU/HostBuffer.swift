import Foundation

/// Host memory behind a CPU tensor: 64-byte aligned, zero-filled; it goes back to its pool on
/// deinit instead of to the system.
final class HostBuffer: @unchecked Sendable {
    let raw: UnsafeMutableRawPointer
    /// The bytes asked for; the block holds `capacity` (its pool size class).
    let bytes: Int
    let capacity: Int
    private let pool: HostBufferPool

    init(raw: UnsafeMutableRawPointer, bytes: Int, capacity: Int, pool: HostBufferPool) {
        self.raw = raw
        self.bytes = bytes
        self.capacity = capacity
        self.pool = pool
    }

    deinit { pool.recycle(raw, capacity: capacity) }

    var floats: UnsafeMutablePointer<Float> { raw.assumingMemoryBound(to: Float.self) }
    var ints: UnsafeMutablePointer<Int32> { raw.assumingMemoryBound(to: Int32.self) }
}

/// Host blocks recycled by size class, as `BufferPool` does for OpenCL: a training step allocates
/// the same sizes every step, so after the first it asks the system for nothing (no page faults,
/// no `mmap`/`munmap` of large activations), and only zero-fills what it reuses.
final class HostBufferPool: @unchecked Sendable {
    private let lists = FreeLists<UnsafeMutableRawPointer>()

    deinit { drain() }

    /// How many blocks were taken from the system (not from the pool).
    var createdCount: Int { lists.createdCount }

    /// A buffer of at least `bytes`, pooled or new, zero-filled unless `zero` is false (the caller
    /// overwrites it whole); nil when the system has no memory.
    func take(_ bytes: Int, zero: Bool = true) -> HostBuffer? {
        let size = SizeClass.bytes(bytes)
        let raw: UnsafeMutableRawPointer
        if let pooled = lists.take(size) {
            raw = pooled
        } else {
            var fresh = Self.allocate(size)
            if fresh == nil {
                // Out of memory: the idle blocks go back to the system, then one more try.
                drain()
                fresh = Self.allocate(size)
            }
            guard let fresh else { return nil }
            lists.noteCreated()
            raw = fresh
        }
        if zero { memset(raw, 0, max(bytes, 64)) }
        return HostBuffer(raw: raw, bytes: bytes, capacity: size, pool: self)
    }

    func recycle(_ raw: UnsafeMutableRawPointer, capacity: Int) { lists.put(raw, size: capacity) }

    /// Gives every idle block back to the system.
    func drain() {
        for p in lists.takeAll() { free(p) }
    }

    static func allocate(_ bytes: Int) -> UnsafeMutableRawPointer? {
        var p: UnsafeMutableRawPointer?
        guard posix_memalign(&p, 64, bytes) == 0 else { return nil }
        return p
    }
}
