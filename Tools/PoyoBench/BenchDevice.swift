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

    static func seconds(_ body: () throws -> Void) rethrows -> Double {
        let t0 = DispatchTime.now().uptimeNanoseconds
        try body()
        return Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
    }
}
