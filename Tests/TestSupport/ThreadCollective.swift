import DataParallel
import Foundation
import POYO

/// The processes of a data-parallel job played by threads of one test process: the same
/// collective calls as `MPICollective`, exchanged through memory.
public final class ThreadCollective: Collective {
    /// What the members of one job share: a slot per rank and a generation per exchange.
    public final class Group: @unchecked Sendable {
        let size: Int
        private let condition = NSCondition()
        private var slots: [[UInt8]?]
        private var results: [[UInt8]] = []
        private var arrived = 0
        private var generation = 0

        public init(size: Int) {
            self.size = size
            slots = Array(repeating: nil, count: size)
        }

        /// Waits until every member has sent its bytes; everyone gets all of them in rank order.
        func exchange(_ rank: Int, _ bytes: [UInt8]) -> [[UInt8]] {
            condition.lock()
            defer { condition.unlock() }
            let mine = generation
            slots[rank] = bytes
            arrived += 1
            if arrived == size {
                results = slots.map { $0! }
                slots = Array(repeating: nil, count: size)
                arrived = 0
                generation += 1
                condition.broadcast()
            } else {
                while generation == mine { condition.wait() }
            }
            return results
        }
    }

    public let rank: Int
    public var size: Int { group.size }
    public var description: String { "\(size) threads" }
    let group: Group

    public init(rank: Int, group: Group) {
        self.rank = rank
        self.group = group
    }

    public func allGather(_ bytes: [UInt8]) throws -> [[UInt8]] { group.exchange(rank, bytes) }

    public func sumInRankOrder(_ values: inout [Float]) throws {
        let all = try allGather(values.withUnsafeBytes { Array($0) }).map { bytes in
            bytes.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        }
        values = all.withUnsafeBufferPointers { OrderedSum.sum($0, count: values.count) }
    }

    public func abort(_ message: String) -> Never { fatalError(message) }
}

extension Array where Element == [Float] {
    /// Buffer pointers to every inner array, valid inside `body`.
    fileprivate func withUnsafeBufferPointers<R>(_ body: ([UnsafeBufferPointer<Float>]) -> R) -> R {
        func nest(_ i: Int, _ acc: [UnsafeBufferPointer<Float>]) -> R {
            i == count ? body(acc) : self[i].withUnsafeBufferPointer { nest(i + 1, acc + [$0]) }
        }
        return nest(0, [])
    }
}
