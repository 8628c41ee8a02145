import Foundation
import TestSupport
import Testing

@testable import POYOData

/// Corrupted copies of the fixtures: the reader must load them or throw a one-line `DataError`
/// naming the file, and never crash or hang (issue 4, point 7). 300 seeded cases, run in parallel.
///
/// Flipping bits in HDF5 metadata makes libhdf5 1.10 itself crash (wild reads of the global heap)
/// or loop in a few percent of cases; `Isolation` turns those into errors, and this test is what
/// shows it. A case that crashed the test process would fail the whole run.
@Suite struct ByteFlipTests {
    static let sources = [
        "nlb_maze_jenkins.nwb", "nlb_rtt_indy.nwb", "perich_c_center_out.h5",
        "nlb_maze_hand_regular.h5", "bad_nan_velocity.nwb", "bad_unsorted_spikes.h5",
    ]
    static let cases = 300
    static let seed: UInt64 = 20_240_611
    static let directory: URL = {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("poyo-byteflip-\(getpid())")
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }()
    static let originals: [String: [UInt8]] = Dictionary(
        uniqueKeysWithValues: sources.map {
            ($0, (try? [UInt8](Data(contentsOf: Fixtures.url($0)))) ?? [])
        })

    /// Case `n`: a fixture with 1 to 8 bits flipped, half of them in the first 16 KiB (where most
    /// metadata sits), the rest anywhere.
    static func corrupted(_ n: Int) -> (name: String, bytes: [UInt8]) {
        let name = sources[n % sources.count]
        var bytes = originals[name] ?? []
        var rng = SeededRNG(seed: seed).derived(UInt64(n))
        guard !bytes.isEmpty else { return (name, bytes) }
        for _ in 0..<(1 + rng.int(below: 8)) {
            let at = rng.uniform() < 0.5 ? rng.int(below: min(bytes.count, 16384)) : rng.int(below: bytes.count)
            bytes[at] ^= UInt8(1) << UInt8(rng.int(below: 8))
        }
        return (name, bytes)
    }

    @Test(arguments: 0..<cases)
    func flippedBytesLoadOrThrowNeverCrash(_ n: Int) throws {
        let (name, bytes) = ByteFlipTests.corrupted(n)
        try #require(!bytes.isEmpty, "fixture \(name) is missing")
        let url = ByteFlipTests.directory.appendingPathComponent("case\(n)_\(name)")
        try Data(bytes).write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }
        var options = ReaderOptions()
        options.timeout = 5
        do {
            let r = try RecordingReader.load(url, options: options).recording
            // Use it as training would: windows through the tokenizer (lazy spike reads).
            let tok = try Tokenizer(
                recordings: [r], unitVocabulary: try Vocabulary(words: r.unitIDs),
                sessionVocabulary: try Vocabulary(words: [r.sessionID]))
            let first = r.domain.items.first?.start ?? 0
            let last = r.domain.items.last?.end ?? 0
            let starts = stride(from: first, to: last, by: max(1, (last - first) / 8)).prefix(8)
            _ = try tok.batch(starts.map { WindowRequest(recording: 0, start: $0) }, evalKeys: true)
        } catch let e as DataError {
            let line = e.description
            #expect(line.contains(url.path), "error does not name the file: \(line)")
            #expect(!line.contains("\n"), "error is not one line: \(line)")
        }
    }
}
