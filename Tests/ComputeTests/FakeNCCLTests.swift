import Foundation
import TestSupport
import Testing

@testable import Compute

/// `NCCLCommunicator` on stand-ins: three ranks as three threads, each with a CUDA device of the
/// stand-in driver (`fake_cuda.c`), meeting in the stand-in NCCL (`fake_nccl.c`), which copies each
/// broadcast from its root's buffer. Checks the unique-id exchange, the calls and their sizes, the
/// rank-ordered sum, and the error without NCCL.
@Suite("NCCL exchange on stand-ins", .serialized)
struct FakeNCCLTests {
    final class Box: @unchecked Sendable {
        let lock = NSLock()
        var sums: [Int: [[Float]]] = [:]
        var errors: [String] = []
    }

    @Test func threeRanksSumInRankOrder() throws {
        let nccl = try #require(FakeNCCL.library, "the stand-in NCCL did not compile")
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("fake-nccl-\(getpid()).log")
        try? FileManager.default.removeItem(at: log)
        setenv("FAKE_NCCL_LOG", log.path, 1)
        defer { unsetenv("FAKE_NCCL_LOG") }
        let path = try NCCLCommunicator.open(environment: ["POYO_LIBNCCL": nccl])
        #expect(path == nccl)
        // Rank 0 makes the id; a job sends it over MPI, the threads here share it.
        let id = try NCCLCommunicator.uniqueID()
        #expect(id.count == 128 && String(decoding: id.prefix(10), as: UTF8.self) == "fake-nccl-")
        // Rank r holds [1e8·(1 − r), r + 1, …]: the first element's sum shows the order (1e8 + 1 − 1e8 in
        // Float is 0 left to right, 1 otherwise); two tensors of different sizes.
        let inputs: [[[Float]]] = [
            [[1e8, 1, 2], [0.5]],
            [[1, 10, 20], [0.25]],
            [[-1e8, 100, 200], [0.125]],
        ]
        let box = Box()
        let done = DispatchGroup()
        for rank in 0..<3 {
            done.enter()
            Thread {
                defer { done.leave() }
                do {
                    let device = try FakeCUDATests().device()
                    let c = try NCCLCommunicator(device: device, ranks: 3, rank: rank, id: id, library: path)
                    let tensors = try inputs[rank].map { try device.upload($0, shape: [$0.count]) }
                    try c.sumInRankOrder(tensors)
                    let sums = try tensors.map { try device.download($0) }
                    box.lock.lock()
                    box.sums[rank] = sums
                    box.lock.unlock()
                } catch {
                    box.lock.lock()
                    box.errors.append("rank \(rank): \(error)")
                    box.lock.unlock()
                }
            }.start()
        }
        done.wait()
        #expect(box.errors.isEmpty, "\(box.errors)")
        let expected: [[Float]] = [[(1e8 + 1) - 1e8, 111, 222], [0.875]]
        for rank in 0..<3 { #expect(box.sums[rank] == expected, "rank \(rank): \(box.sums[rank] ?? [])") }
        let lines = try String(contentsOf: log, encoding: .utf8).split(separator: "\n").map(String.init)
        let idText = String(decoding: id.prefix { $0 != 0 }, as: UTF8.self)
        #expect(lines.filter { $0.hasPrefix("init \(idText) ranks 3") }.count == 3, "\(lines)")
        // Each rank: one group, every root in order, each tensor of each root with its size.
        for rank in 0..<3 {
            let calls = lines.filter { $0.hasPrefix("rank \(rank) broadcast") }
            let want = (0..<3).flatMap { root in ["root \(root) count 3", "root \(root) count 1"] }
            #expect(calls == want.map { "rank \(rank) broadcast " + $0 }, "\(calls)")
            #expect(lines.contains("rank \(rank) group of 6 broadcasts done"))
        }
    }

    @Test func withoutNCCLTheErrorNamesTheLibrary() {
        do {
            _ = try NCCLCommunicator.open(environment: ["POYO_LIBNCCL": "/nonexistent/libnccl.so.2"])
            Issue.record("a missing NCCL was accepted")
        } catch {
            let text = "\(error)"
            #expect(text.contains("libnccl") && text.contains("POYO_LIBNCCL"), "\(text)")
        }
    }
}
