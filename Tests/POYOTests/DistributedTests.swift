import Compute
import DataParallel
import Foundation
import POYOData
import TestSupport
import Testing

@testable import POYO

/// Data parallelism with the processes played by threads (`ThreadCollective`); `ci/mpi-check.sh`
/// runs the same under `mpirun`.
@Suite struct DistributedTests {
    /// What one rank ends with: weights, per-step losses, validation R².
    struct Outcome {
        var weights: [Float] = []
        var losses: [Double] = []
        var r2: Double = .nan
    }

    static func train(_ data: Dataset, options: TrainOptions, collective: Collective?) throws -> Outcome {
        let session = try TrainingSession(
            config: ConfigFile(model: Small.config, train: options), data: data, dataDescription: "small synthetic",
            device: CPUDevice(threads: 1), folder: try makeTempDirectory("distributed"), collective: collective)
        var outcome = Outcome()
        for _ in 0..<options.steps { outcome.losses.append(try session.step().loss) }
        outcome.r2 = try session.validate().mean
        outcome.weights = try session.model.params.all.flatMap { try session.device.download($0.value) }
        return outcome
    }

    /// Runs `body` as ranks 0..<n of one job, each on its own thread; their results in rank order.
    static func ranks(_ n: Int, _ body: @escaping @Sendable (Collective) throws -> Outcome) throws -> [Outcome] {
        let group = ThreadCollective.Group(size: n)
        let results = Results(n)
        let done = DispatchGroup()
        for rank in 0..<n {
            done.enter()
            let thread = Thread {
                results.set(rank, Result { try body(ThreadCollective(rank: rank, group: group)) })
                done.leave()
            }
            thread.stackSize = 8 << 20
            thread.start()
        }
        done.wait()
        return try results.all.map { try $0!.get() }
    }

    final class Results: @unchecked Sendable {
        private let lock = NSLock()
        private(set) var all: [Result<Outcome, Error>?]
        init(_ n: Int) { all = Array(repeating: nil, count: n) }
        func set(_ i: Int, _ r: Result<Outcome, Error>) {
            lock.lock()
            all[i] = r
            lock.unlock()
        }
    }

    @Test func twoProcessesGiveTheBitsOfOneWithTwoMicroBatches() throws {
        let data = try Small.dataset()
        var options = Small.options(steps: 4)
        options.gradAccum = 2
        let one = try Self.train(data, options: options, collective: nil)
        let job = try Self.ranks(2) { c in try Self.train(data, options: Small.options(steps: 4), collective: c) }
        for (rank, o) in job.enumerated() {
            #expect(o.weights == one.weights, "rank \(rank): weights differ from one process with grad_accum 2")
            #expect(o.losses == one.losses, "rank \(rank): losses \(o.losses) vs \(one.losses)")
            // Validation sharded over the two (batch b on rank b mod 2), stitched in batch order.
            #expect(o.r2 == one.r2, "rank \(rank): R² \(o.r2) vs \(one.r2)")
        }
        // And the split is real: one process without micro-batches differs.
        let whole = try Self.train(data, options: Small.options(steps: 4), collective: nil)
        #expect(whole.weights != one.weights)
    }

    @Test func microBatchesAreSharedOrRefused() throws {
        var t = TrainOptions()
        t.batchSize = 8
        try TrainingSession.shareParts(&t, among: 4) { _ in }
        #expect(t.gradAccum == 4)
        t.gradAccum = 6
        #expect(throws: POYOError.self) { try TrainingSession.shareParts(&t, among: 4) { _ in } }
        t.gradAccum = 8
        try TrainingSession.shareParts(&t, among: 4) { _ in }
        #expect(t.gradAccum == 8)
    }

    @Test func orderedSumAddsInRankOrder() {
        // 1e8 + 1 − 1e8: left to right in Float gives 0 (1 is lost), so the order is observable.
        let parts: [[Float]] = [[1e8], [1], [-1e8]]
        let sum = parts[0].withUnsafeBufferPointer { a in
            parts[1].withUnsafeBufferPointer { b in
                parts[2].withUnsafeBufferPointer { c in OrderedSum.sum([a, b, c], count: 1) }
            }
        }
        #expect(sum == [0])
    }
}
