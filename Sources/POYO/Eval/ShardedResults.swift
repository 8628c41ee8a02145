import Foundation
import POYOData

/// One process's share of a sharded evaluation: for each of its batches, the batch's index in
/// the evaluation order, its samples' keys, predictions and targets; as bytes for `allGather`.
/// Every process then stitches all batches in index order, so the figures are those of one process.
struct ShardedResults {
    struct Entry {
        var batch: Int
        var keys: [EvalKey]
        var predictions: [Float]  // [keys.count, dimOut]
        var targets: [Float]  // [keys.count, dimOut]
    }

    var entries: [Entry] = []

    init() {}

    var bytes: [UInt8] {
        var out: [UInt8] = []
        func put<T>(_ values: [T]) { values.withUnsafeBytes { out += $0 } }
        for e in entries {
            put([Int64(e.batch), Int64(e.keys.count), Int64(e.predictions.count)])
            put(e.keys.map(\.recording))
            put(e.keys.map(\.sample))
            put(e.keys.map { UInt8($0.scored ? 1 : 0) })
            put(e.predictions)
            put(e.targets)
        }
        return out
    }

    /// Reads what `bytes` wrote (another process of the same build: no untrusted input).
    init(bytes: [UInt8]) throws {
        var at = 0
        func take<T>(_ count: Int, as _: T.Type) throws -> [T] {
            let n = count * MemoryLayout<T>.stride
            guard count >= 0, at + n <= bytes.count else {
                throw POYOError.distributed("a process sent \(bytes.count) bytes of evaluation results, cut short")
            }
            defer { at += n }
            return bytes[at..<(at + n)].withUnsafeBytes { Array($0.bindMemory(to: T.self)) }
        }
        while at < bytes.count {
            let head = try take(3, as: Int64.self)
            let (n, m) = (Int(head[1]), Int(head[2]))
            let recordings = try take(n, as: Int32.self)
            let samples = try take(n, as: Int32.self)
            let scored = try take(n, as: UInt8.self)
            let keys = (0..<n).map { EvalKey(recording: recordings[$0], sample: samples[$0], scored: scored[$0] != 0) }
            entries.append(
                Entry(
                    batch: Int(head[0]), keys: keys, predictions: try take(m, as: Float.self),
                    targets: try take(m, as: Float.self)))
        }
    }
}
