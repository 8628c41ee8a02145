import Foundation
import Testing

@testable import POYOData

/// `Isolation` turns every way a reader child can fail into a `DataError`. Each test starts a
/// real reader process (`poyo __read-recording`, spawned, not forked) with a test job.
@Suite struct IsolationTests {
    @Test func resultsNotesAndErrorsComeBack() throws {
        let ok = try Isolation.run(file: "f.h5", timeout: 30, job: .exercise(.echo(bytes: 300_000)))
        // Larger than a pipe buffer, so the parent must read while the child writes.
        #expect(ok.error == nil && ok.result?.count == 300_000 && ok.notes["format"] == "nwb")
        let failed = try Isolation.run(file: "f.h5", timeout: 30, job: .exercise(.fail(file: "f.h5", field: "units")))
        #expect(failed.error == .missing(file: "f.h5", field: "units") && failed.result == nil)
    }

    @Test func aCrashNamesTheLastPathTouched() throws {
        let out = try Isolation.run(file: "f.h5", timeout: 30, job: .exercise(.crash(field: "units/spike_times")))
        #expect(
            out.error?.description.hasPrefix("f.h5: invalid 'units/spike_times': reading it crashed") == true,
            "\(String(describing: out.error))")
    }

    @Test func aBusyChildIsStoppedAtTheTimeout() throws {
        let t0 = Date()
        let out = try Isolation.run(file: "f.h5", timeout: 1, job: .exercise(.spin))
        #expect(out.error?.description == "f.h5: invalid '/': reading did not finish within 1 s (corrupt file?)")
        #expect(Date().timeIntervalSince(t0) < 10)
    }

    /// Many readers at once from a process whose other threads are busy allocating (the case that
    /// made forked children deadlock): every one finishes, first time.
    @Test func concurrentReadersFromABusyProcessAllFinish() async throws {
        let stop = ManagedAtomicFlag()
        let churn = Thread {
            while !stop.isSet { _ = (0..<1000).map { String($0) }.joined() }
        }
        churn.start()
        defer { stop.set() }
        try await withThrowingTaskGroup(of: Int.self) { group in
            for i in 0..<16 {
                group.addTask {
                    let out = try Isolation.run(file: "f\(i).h5", timeout: 60, job: .exercise(.echo(bytes: 1000 + i)))
                    return out.result?.count ?? -1
                }
            }
            var sizes: [Int] = []
            for try await n in group { sizes.append(n) }
            #expect(sizes.sorted() == (0..<16).map { 1000 + $0 })
        }
    }

    /// A reader that is not a poyo (it says nothing and exits) is named as the likely cause.
    @Test func aReaderThatSaysNothingIsAClearError() throws {
        let out = try Isolation.run(file: "f.h5", timeout: 10, job: .exercise(.echo(bytes: 1)), reader: "/bin/true")
        #expect(out.result == nil)
        #expect(
            out.error?.description.contains("exited (status 0) without a word") == true,
            "\(String(describing: out.error))")
    }

    /// A batch runs its jobs in one child and returns each job's outcome as `run` would; the job
    /// a child dies or overruns on gets the crash or timeout, and the jobs after it run in a new
    /// child.
    @Test func aBatchGivesEachJobItsOwnOutcome() throws {
        let jobs: [Isolation.Job] = [
            .exercise(.processID), .exercise(.echo(bytes: 300_000)), .exercise(.fail(file: "f2.h5", field: "units")),
            .exercise(.processID), .exercise(.crash(field: "units/spike_times")), .exercise(.processID),
            .exercise(.spin), .exercise(.processID), .exercise(.processID),
        ]
        let files = jobs.indices.map { "f\($0).h5" }
        let timeouts = jobs.indices.map { $0 == 6 ? 1.0 : 30.0 }
        let out = try Isolation.runBatch(files: files, timeouts: timeouts, jobs: jobs)
        #expect(out.count == jobs.count)
        guard out.count == jobs.count else { return }
        let pid = { (i: Int) -> UInt32? in
            guard let r = out[i].result, r.count == 4 else { return nil }
            return r.withUnsafeBytes { UInt32(littleEndian: $0.loadUnaligned(as: UInt32.self)) }
        }
        #expect(out[1].result?.count == 300_000 && out[1].notes["format"] == "nwb")
        #expect(out[2].error == .missing(file: "f2.h5", field: "units") && out[2].notes.isEmpty)
        #expect(
            out[4].error?.description.hasPrefix("f4.h5: invalid 'units/spike_times': reading it crashed") == true,
            "\(String(describing: out[4].error))")
        #expect(out[6].error?.description == "f6.h5: invalid '/': reading did not finish within 1 s (corrupt file?)")
        // One child up to the crash, a second up to the timeout, a third after it.
        let children = [pid(0), pid(3), pid(5), pid(7), pid(8)]
        #expect(children.allSatisfy { $0 != nil && $0 != UInt32(getpid()) })
        #expect(children[0] == children[1] && children[1] != children[2] && children[2] != children[3])
        #expect(children[3] == children[4])
    }

    /// A batch too long for one argument of the child (128 KiB on Linux) is split, not refused.
    @Test func aLongBatchIsSplitAcrossChildren() throws {
        let long = String(repeating: "x", count: 40_000)
        let jobs = (0..<4).map { Isolation.Job.exercise(.fail(file: "f\($0)\(long)", field: "units")) }
        let out = try Isolation.runBatch(
            files: (0..<4).map { "f\($0)" }, timeouts: Array(repeating: 30, count: 4), jobs: jobs)
        #expect(out.map(\.error) == (0..<4).map { i -> DataError? in .missing(file: "f\(i)\(long)", field: "units") })
    }

    @Test func aMissingReaderExecutableIsAClearError() throws {
        #expect(
            throws: DataError.io(
                path: "f.h5", reason: "cannot start the reader process: POYO_READER=/nonexistent/poyo is not executable"
            )
        ) {
            _ = try Isolation.readerExecutable(for: "f.h5", environment: ["POYO_READER": "/nonexistent/poyo"])
        }
        let found = try Isolation.readerExecutable(for: "f.h5", environment: [:])
        #expect(found.hasSuffix("/poyo"))
    }
}

/// A flag one thread sets and another polls.
final class ManagedAtomicFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    var isSet: Bool { lock.withLock { value } }
    func set() { lock.withLock { value = true } }
}
