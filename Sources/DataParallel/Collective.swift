import Foundation

/// The processes of one data-parallel training job, and the few collective operations that data
/// parallelism needs. Every process calls each operation in the same order (they are collective).
///
/// The reductions here are ours, not the library's: `MPI_Allreduce` may add in any order, so the
/// same job would give different last bits from one run or launcher to the next. Summing in rank
/// order makes N processes give exactly the weights one process gives with `grad_accum: N`.
public protocol Collective: AnyObject {
    /// This process's index, 0..<size; rank 0 writes the run folder.
    var rank: Int { get }
    var size: Int { get }
    /// What the job runs on, for the start-up line (`Open MPI v4.1.6, 2 processes`).
    var description: String { get }
    /// Every process's bytes, in rank order (each process may send a different number).
    func allGather(_ bytes: [UInt8]) throws -> [[UInt8]]
    /// Replaces `values` (the same count on every process) by their sum over processes, added in
    /// rank order ((p0 + p1) + p2) + … for every element, identical on every process.
    func sumInRankOrder(_ values: inout [Float]) throws
    /// Stops every process of the job at once (after a failure on this one), printing `message`.
    func abort(_ message: String) -> Never
}

extension Collective {
    /// Every process's doubles, concatenated in rank order.
    public func allGather(_ values: [Double]) throws -> [Double] {
        let parts = try allGather(values.withUnsafeBytes { Array($0) })
        return parts.flatMap { bytes in
            bytes.withUnsafeBytes { raw in Array(raw.bindMemory(to: Double.self)) }
        }
    }
}

/// Why a data-parallel job could not start or go on (a missing MPI, a failed exchange).
public struct DistributedError: Error, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { "distributed: \(message)" }
}

/// The ordered sum every `sumInRankOrder` uses, so one process and many add alike.
public enum OrderedSum {
    /// `parts` (each `count` floats) added element-wise in order: ((parts[0] + parts[1]) + parts[2]) + ….
    public static func sum(_ parts: [UnsafeBufferPointer<Float>], count: Int) -> [Float] {
        guard var out = parts.first.map(Array.init) else { return [] }
        for part in parts.dropFirst() {
            for i in 0..<count { out[i] = out[i] + part[i] }
        }
        return out
    }
}
