import ArgumentParser
import Compute
import Foundation
import POYO

/// `poyo-bench golden`: the golden test of the test suite, runnable from the binary alone (the GPU
/// machine has no Swift). Both go through `GoldenCheck`, so the figures and bounds are the same.
struct Golden: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check every torch_brain golden fixture on a device: forward, loss, gradients, 5 AdamW steps.",
        discussion: """
            Prints the worst normwise error per group and PASS/FAIL against the golden test's bounds \
            (output and latents 1e-5, loss 1e-6, gradients and the step losses 2e-5, zero rows exactly zero). \
            Exit status 1 when any fixture fails.
            """)

    @Option(help: "Device: cpu, cuda, cuda:N, opencl or opencl:N.") var device = "cpu"
    @Option(
        help:
            ArgumentHelp(
                "Folder of *.safetensors fixtures (default: $POYO_GOLDEN_DIR, else golden/ beside the bundle, else "
                    + "Tests/Fixtures/golden of the repository).")
    )
    var dir: String?
    @Option(help: "Worker threads (CPU backend).") var threads: Int?
    @Flag(help: "Print one JSON object per line.") var json = false

    func run() throws {
        let folder = goldenFolder()
        let files = try GoldenFixture.files(in: folder)
        let dev = try BenchDevice.make(device, threads: threads)
        if !json { print("golden fixtures in \(folder.path) on \(dev.name)") }
        var failed = 0
        for url in files {
            var report: GoldenCheck.Report?
            let seconds = try BenchDevice.seconds { report = try GoldenCheck.run(fixture: url, device: dev) }
            guard let report else { continue }
            if !report.passed { failed += 1 }
            emit(report, seconds: seconds, deviceName: dev.name)
        }
        let verdict = failed == 0 ? "PASS" : "FAIL"
        if json {
            printJSON([
                "kind": "golden_summary", "device": dev.name, "fixtures": files.count, "failed": failed,
                "result": verdict,
            ])
        } else {
            print("golden: \(files.count - failed)/\(files.count) fixtures pass on \(dev.name): \(verdict)")
        }
        if failed > 0 { throw ExitCode(1) }
    }

    /// --dir, then $POYO_GOLDEN_DIR, then the bundle's golden/ (beside bin/), then the repository's
    /// Tests/Fixtures/golden (from the working directory, the repository root).
    func goldenFolder() -> URL {
        if let dir { return URL(fileURLWithPath: dir) }
        let exe = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        let bundled = exe.deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("golden")
        return GoldenFixture.directory(searching: [bundled, URL(fileURLWithPath: GoldenFixture.repositoryPath)])
    }

    func emit(_ r: GoldenCheck.Report, seconds: Double, deviceName: String) {
        if json {
            for g in r.groups {
                printJSON([
                    "kind": "golden", "device": deviceName, "fixture": r.fixture, "group": g.name,
                    "worst": g.worst.isFinite ? g.worst : -1, "worst_at": g.worstAt,
                    "tolerance": g.tolerance, "result": g.passed ? "PASS" : "FAIL",
                ])
            }
            for f in r.failures { printJSON(["kind": "golden_failure", "fixture": r.fixture, "detail": f]) }
            return
        }
        print("\(r.fixture)  (\(String(format: "%.1f", seconds)) s)")
        for g in r.groups {
            let worst = g.name == "zero rows" ? String(format: "%.0f rows", g.worst) : String(format: "%.2e", g.worst)
            print(
                "  " + pad(g.name, 14) + pad(worst, 10, right: true) + "  ≤ "
                    + pad(String(format: "%.0e", g.tolerance), 6)
                    + "  " + (g.passed ? "PASS" : "FAIL") + (g.worstAt.isEmpty ? "" : "  worst: \(g.worstAt)"))
        }
        for f in r.failures { print("  FAIL \(f)") }
    }
}
