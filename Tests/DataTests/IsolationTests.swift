import Foundation
import Testing

@testable import POYOData

/// `Isolation` turns every way a reader child can fail into a `DataError`.
@Suite struct IsolationTests {
    @Test func resultsNotesAndErrorsComeBack() throws {
        let ok = try Isolation.run(file: "f.h5", timeout: 10) {
            Isolation.note("format", "nwb")
            return Array(repeating: 7, count: 300_000)  // larger than a pipe buffer
        }
        #expect(ok.error == nil && ok.result?.count == 300_000 && ok.notes["format"] == "nwb")
        let failed = try Isolation.run(file: "f.h5", timeout: 10) { () -> [UInt8] in
            throw DataError.missing(file: "f.h5", field: "units")
        }
        #expect(failed.error == .missing(file: "f.h5", field: "units") && failed.result == nil)
    }

    @Test func aCrashNamesTheLastPathTouched() throws {
        let out = try Isolation.run(file: "f.h5", timeout: 10) { () -> [UInt8] in
            Isolation.trace(path: "f.h5", field: "units/spike_times")
            let nothing: [Int] = []
            return [UInt8(nothing[1])]  // traps (index out of range)
        }
        #expect(
            out.error?.description.hasPrefix("f.h5: invalid 'units/spike_times': reading it crashed") == true,
            "\(String(describing: out.error))")
    }

    @Test func aBusyChildIsStoppedAtTheTimeout() throws {
        let out = try Isolation.run(file: "f.h5", timeout: 1) { () -> [UInt8] in
            var x = 0.0
            while x >= 0 { x += 1 }
            return []
        }
        #expect(out.error?.description == "f.h5: invalid '/': reading did not finish within 1 s (corrupt file?)")
    }

    @Test func aSleepingChildIsTakenForADeadlockAndRetried() throws {
        let t0 = Date()
        #expect(
            throws: DataError.io(
                path: "f.h5", reason: "the reader process deadlocked 3 times (busy process?); try again")
        ) {
            _ = try Isolation.run(file: "f.h5", timeout: 60) { () -> [UInt8] in
                sleep(100)
                return []
            }
        }
        #expect(Date().timeIntervalSince(t0) < 20)
    }
}
