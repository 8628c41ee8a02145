import Foundation

/// Size classes of the device memory pools: at least 64 bytes, then the next m·2^e with
/// 8 ≤ m ≤ 15 (at most 12.5 % slack). Packed batches change their token count every step, and
/// exact sizes would leave one idle block behind for every count ever seen.
enum SizeClass {
    static func bytes(_ bytes: Int) -> Int {
        guard bytes > 64 else { return 64 }
        let shift = max(0, (Int.bitWidth - 1 - (bytes - 1).leadingZeroBitCount) - 3)  // keep 4 leading bits
        return ((bytes - 1) >> shift + 1) << shift
    }
}

/// The idle blocks of a pool by size class, behind a lock, and how many blocks the pool had to
/// create: shared by the CPU pool (host memory) and the OpenCL pool (`cl_mem`).
final class FreeLists<Block>: @unchecked Sendable {
    private let lock = NSLock()
    private var free: [Int: [Block]] = [:]
    private var created = 0

    /// An idle block of size class `size`, if there is one.
    func take(_ size: Int) -> Block? {
        lock.lock()
        defer { lock.unlock() }
        return free[size]?.popLast()
    }

    func put(_ block: Block, size: Int) {
        lock.lock()
        defer { lock.unlock() }
        free[size, default: []].append(block)
    }

    /// Every idle block, handed to the caller to release.
    func takeAll() -> [Block] {
        lock.lock()
        defer { lock.unlock() }
        let all = free.values.flatMap { $0 }
        free.removeAll()
        return all
    }

    /// Counts a block the pool created (not taken from these lists).
    func noteCreated() {
        lock.lock()
        defer { lock.unlock() }
        created += 1
    }

    var createdCount: Int {
        lock.lock()
        defer { lock.unlock() }
        return created
    }
}
