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
