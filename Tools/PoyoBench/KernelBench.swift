import ArgumentParser
import Compute
import Foundation
import POYO

/// One op at one shape: how to set it up on a device, its work, and the output to validate.
struct OpCase {
    let name: String
    let shape: String
    let flops: Double  // 0 for memory-bound ops
    let bytes: Double  // bytes moved (inputs read + outputs written), for GB/s
    /// Builds inputs on `device` (same seeds on every device) and returns the op and its result reader.
    let setup: (Device) throws -> (run: () -> Void, result: () throws -> [Float])
}

struct Kernels: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Time every op at the shapes of the 1.3M and 11.8M configs, validated against the CPU backend.",
        discussion: "OpenCL devices are timed with event profiling (kernel time only); the CPU backend by wall clock.")

    @Option(help: "Device: cpu, cuda, cuda:N, opencl or opencl:N.") var device = "cpu"
    @Option(help: "Model configs: 1.3M,11.8M.") var model = "1.3M,11.8M"
    @Option(help: "Comma-separated batch sizes.") var batch = "8,32"
    @Option(help: "Input tokens per window.") var tokens = 2200
    @Option(help: "Timed repetitions per op.") var repeats = 7
    @Option(help: "Worker threads (CPU backend).") var threads: Int?
    @Flag(help: "Print one JSON object per line.") var json = false

    func run() throws {
        let dev = try BenchDevice.make(device, threads: threads)
        let reference = CPUDevice(threads: threads)
        let probe = try dev.makeTensor([1], dtype: .float32)
        let peak = try measurePeak(dev, probe)
        emit(
            ["kind": "peak", "device": dev.name, "gemm_gflops": peak.gflops, "copy_gbs": peak.gbs],
            String(format: "%@: peak SGEMM 2048³ %.1f GFLOP/s, copy 256 MiB %.1f GB/s", dev.name, peak.gflops, peak.gbs)
        )
        if !json {
            print(
                pad("op", 24) + pad("config and shape", 40) + pad("median ms", 11, right: true)
                    + pad("min ms", 10, right: true)
                    + pad("rate", 13, right: true) + pad("%peak", 8, right: true) + "  check")
        }
        for m in model.split(separator: ",") {
            let config = m == "11.8M" ? POYOConfig.poyo11_8M : POYOConfig.poyo1_3M
            for b in batch.split(separator: ",").compactMap({ Int($0) }) {
                for op in KernelCases.all(config: config, batch: b, tokensPerWindow: tokens) {
                    try bench(op, label: "\(m) b\(b)", dev: dev, reference: reference, probe: probe, peak: peak)
                }
            }
        }
    }

    func emit(_ obj: [String: Any], _ text: String) {
        if json {
            printJSON(obj)
        } else {
            print(text)
        }
    }

    func bench(
        _ op: OpCase, label: String, dev: Device, reference: CPUDevice, probe: Tensor,
        peak: (gflops: Double, gbs: Double)
    ) throws {
        // Validate first: the same inputs on the CPU backend give the reference output.
        let (refRun, refOut) = try op.setup(reference)
        refRun()
        let expected = try refOut()
        let (run, out) = try op.setup(dev)
        run()
        let got = try out()
        let err = compare(got, expected).error
        let ok = err <= 1e-4
        var times: [Double] = []
        for _ in 0..<repeats { times.append(try BenchDevice.deviceSeconds(dev, probe, run)) }
        times.sort()
        let median = times[times.count / 2]
        let best = times[0]
        let rate: String
        let frac: Double
        if op.flops > 0 {
            let g = op.flops / median / 1e9
            rate = String(format: "%.1f GF/s", g)
            frac = g / peak.gflops
        } else {
            let g = op.bytes / median / 1e9
            rate = String(format: "%.1f GB/s", g)
            frac = g / peak.gbs
        }
        emit(
            [
                "kind": "op", "op": op.name, "config": label, "shape": op.shape, "median_ms": median * 1e3,
                "min_ms": best * 1e3,
                "gflops": op.flops / median / 1e9, "gbs": op.bytes / median / 1e9, "fraction_of_peak": frac,
                "max_rel_error_vs_cpu": err.isFinite ? err : -1, "valid": ok,
            ],
            pad(op.name, 24) + pad("\(label) \(op.shape)", 40)
                + pad(String(format: "%.3f", median * 1e3), 11, right: true)
                + pad(String(format: "%.3f", best * 1e3), 10, right: true) + pad(rate, 13, right: true)
                + pad(String(format: "%.1f%%", frac * 100), 8, right: true)
                + "  " + (ok ? String(format: "ok %.0e", err) : String(format: "MISMATCH %.1e", err)))
    }

    /// The device's practical ceilings: a large SGEMM and a large copy.
    func measurePeak(_ dev: Device, _ probe: Tensor) throws -> (gflops: Double, gbs: Double) {
        let n = 2048
        let a = try dev.upload(randomValues(n * n, seed: 1), shape: [n, n])
        let b = try dev.upload(randomValues(n * n, seed: 2), shape: [n, n])
        let c = try dev.makeTensor([n, n], dtype: .float32)
        var best = Double.infinity
        for _ in 0..<3 {
            best = min(
                best,
                try BenchDevice.deviceSeconds(dev, probe) {
                    dev.gemm(
                        transA: false, transB: false, m: n, n: n, k: n, alpha: 1, a: a.matrix, b: b.matrix, beta: 0,
                        c: c.matrix)
                })
        }
        let count = 64 << 20  // 256 MiB of floats
        let src = try dev.makeTensor([count], dtype: .float32)
        let dst = try dev.makeTensor([count], dtype: .float32)
        var bestCopy = Double.infinity
        for _ in 0..<3 {
            bestCopy = min(bestCopy, try BenchDevice.deviceSeconds(dev, probe) { dev.copy(src, to: dst) })
        }
        return (2 * Double(n * n * n) / best / 1e9, 2 * Double(count * 4) / bestCopy / 1e9)
    }
}

/// Pads (or keeps) `s` to `width` characters for table columns.
func pad(_ s: String, _ width: Int, right: Bool = false) -> String {
    let fill = String(repeating: " ", count: max(0, width - s.count))
    return right ? fill + s : s + fill
}

/// Deterministic values in [-1, 1).
func randomValues(_ n: Int, seed: UInt64) -> [Float] {
    var s = seed &* 0x9E37_79B9_7F4A_7C15 | 1
    return (0..<n).map { _ in
        s = s &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return Float(s >> 40) / Float(1 << 23) - 1
    }
}
