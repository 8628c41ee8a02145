import Compute
import Foundation
import POYO
import TestSupport
import Testing

/// Parity with torch_brain's POYO on every fixture in the golden directory, through `GoldenCheck`
/// (the same code and tolerances as `poyo-bench golden`).
@Suite struct GoldenTests {
    @Test func goldenDirectoryHasFixtures() throws {
        #expect(try !GoldenFixture.all().isEmpty, "no *.safetensors in \(GoldenFixture.directory.path)")
    }

    /// A clone without its fixtures must say where they come from, on one line.
    @Test func missingFolderNamesTheGenerator() throws {
        let nowhere = FileManager.default.temporaryDirectory.appendingPathComponent("no-golden-\(UUID().uuidString)")
        do {
            _ = try GoldenFixture.files(in: nowhere)
            Issue.record("a missing golden folder was accepted")
        } catch {
            let text = "\(error)"
            #expect(text.contains(nowhere.path))
            #expect(text.contains("HINT:") && text.contains("Tools/golden/make_golden.py"))
            #expect(!text.contains("\n"))
        }
    }

    @Test(arguments: try GoldenFixture.all())
    func fixtureMatchesReference(_ url: URL) throws {
        try checkFixture(url, device: CPUDevice())
    }

    /// The CPU backend's OpenBLAS path (what CPUs without AVX-512 run), where the default is our own GEMM.
    @Test(.enabled(if: CPUGemmKernels.best == .avx512), arguments: try GoldenFixture.all())
    func fixtureMatchesReferenceWithOpenBLAS(_ url: URL) throws {
        try checkFixture(url, device: CPUDevice(gemm: .openBLAS))
    }

    /// The check must be able to fail: a fixture whose expected output is perturbed by 1e-4 of its
    /// largest value fails the output group and nothing else.
    @Test func perturbedFixtureFails() throws {
        let url = try GoldenFixture.all().first { $0.lastPathComponent.contains("tiny") } ?? GoldenFixture.all()[0]
        let file = try SafeTensorsFile(path: url.path)
        let entry = try file.entry("expected.output")
        let out = try file.floats("expected.output")
        let peak = Double(out.map { abs($0) }.max() ?? 1)
        // Patch the first element in place in a copy: payload offsets are relative to the data start,
        // which is the file size less the payload size.
        var bytes = try Data(contentsOf: url)
        let payload = file.entries.values.map(\.range.upperBound).max() ?? 0
        let at = bytes.count - payload + entry.range.lowerBound
        if entry.dtype == "F64" {
            var v = Double(out[0]) + 1e-4 * peak
            withUnsafeBytes(of: &v) { bytes.replaceSubrange(at..<(at + 8), with: $0) }
        } else {
            var v = out[0] + Float(1e-4 * peak)
            withUnsafeBytes(of: &v) { bytes.replaceSubrange(at..<(at + 4), with: $0) }
        }
        let dir = try makeTempDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let copy = dir.appendingPathComponent(url.lastPathComponent)
        try bytes.write(to: copy)
        let report = try GoldenCheck.run(fixture: copy, device: CPUDevice())
        #expect(!report.passed)
        #expect(report.groups.filter { !$0.passed }.map(\.name) == ["output"])
    }
}

/// Runs one fixture on `device` through `GoldenCheck`, expecting every group within its bound.
func checkFixture(_ url: URL, device: Device) throws {
    let report = try GoldenCheck.run(fixture: url, device: device)
    for failure in report.failures { Issue.record(Comment(rawValue: failure)) }
    #expect(report.groups.count == 6)
    print(report.summaryLine)
}
