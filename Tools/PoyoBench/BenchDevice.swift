import Compute
import Foundation

enum BenchDevice {
    static func make(_ spec: String, threads: Int?) throws -> Device {
        let sel = try DeviceSelection(parsing: spec)
        if sel == .cpu { return CPUDevice(threads: threads) }
        return try sel.make().device
    }

    /// Waits for queued work: a one-element readback completes everything enqueued before it.
    static func sync(_ d: Device, _ probe: Tensor) throws { _ = try d.readScalar(probe) }

    /// Device time of `body`: on CUDA between two events on the stream; on OpenCL the sum of its
    /// kernels' profiling events, except for CLBlast GEMMs (whose event covers only CLBlast's last
    /// kernel, not its copy/pad kernels), which are timed by wall clock around a finished queue, as
    /// on the CPU backend.
    static func deviceSeconds(_ d: Device, _ probe: Tensor, _ body: () -> Void) throws -> Double {
        try sync(d, probe)
        if let cuda = d as? CUDADevice { return try cuda.deviceSeconds { body() } }
        if let cl = d as? OpenCLDevice {
            var wall = 0.0
            let kernels = try cl.profileKernels {
                wall = try seconds {
                    body()
                    try cl.synchronize()
                }
            }
            return kernels.contains { $0.kernel == "gemm" } ? wall : kernels.reduce(0) { $0 + $1.seconds }
        }
        return try seconds {
            body()
            try sync(d, probe)
        }
    }

    static func seconds(_ body: () throws -> Void) rethrows -> Double {
        let t0 = DispatchTime.now().uptimeNanoseconds
        try body()
        return Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
    }
}

/// One JSON object per line on stdout (keys sorted): every `--json` line of poyo-bench.
func printJSON(_ object: [String: Any]) {
    let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
    print(String(decoding: data, as: UTF8.self))
}
