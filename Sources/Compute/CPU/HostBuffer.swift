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
    private let lock = NSLock()
    private var free: [Int: [UnsafeMutableRawPointer]] = [:]
    private var _created = 0

    deinit { drain() }

    /// How many blocks were taken from the system (not from the pool).
    var createdCount: Int {
        lock.lock()
        defer { lock.unlock() }
        return _created
    }

    /// A buffer of at least `bytes`, pooled or new, zero-filled unless `zero` is false (the caller
    /// overwrites it whole); nil when the system has no memory.
    func take(_ bytes: Int, zero: Bool = true) -> HostBuffer? {
        let size = SizeClass.bytes(bytes)
        lock.lock()
        let pooled = free[size]?.popLast()
        if pooled == nil { _created += 1 }
        lock.unlock()
        guard let raw = pooled ?? Self.allocate(size) ?? retryAfterDrain(size) else { return nil }
        if zero { memset(raw, 0, max(bytes, 64)) }
        return HostBuffer(raw: raw, bytes: bytes, capacity: size, pool: self)
    }

    func recycle(_ raw: UnsafeMutableRawPointer, capacity: Int) {
        lock.lock()
        defer { lock.unlock() }
        free[capacity, default: []].append(raw)
    }

    /// Gives every idle block back to the system.
    func drain() {
        lock.lock()
        let all = free.values.flatMap { $0 }
        free.removeAll()
        lock.unlock()
        for p in all { Foundation.free(p) }
    }

    /// Out of memory: the idle blocks go back to the system, then one more try.
    private func retryAfterDrain(_ size: Int) -> UnsafeMutableRawPointer? {
        drain()
        return Self.allocate(size)
    }

    static func allocate(_ bytes: Int) -> UnsafeMutableRawPointer? {
        var p: UnsafeMutableRawPointer?
        guard posix_memalign(&p, 64, bytes) == 0 else { return nil }
        return p
    }
}

/// Size classes of the device pools: at least 64 bytes, then the next m·2^e with 8 ≤ m ≤ 15 (at
/// most 12.5 % slack). Packed batches change their token count every step, and exact sizes would
/// leave one idle buffer behind for every count ever seen.
enum SizeClass {
    static func bytes(_ bytes: Int) -> Int {
        guard bytes > 64 else { return 64 }
        let shift = max(0, (Int.bitWidth - 1 - (bytes - 1).leadingZeroBitCount) - 3)  // keep 4 leading bits
        return ((bytes - 1) >> shift + 1) << shift
    }
}
