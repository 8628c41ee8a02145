import Foundation

/// Parses `--device auto|cpu|opencl[:N]` and makes the device.
public enum DeviceSelection: Equatable, Sendable {
    case auto
    case cpu
    /// Device N of `OpenCLDevice.availableDevices()` (all platforms, flattened); nil means 0.
    case opencl(index: Int?)

    public init(parsing s: String) throws {
        let v = s.lowercased()
        switch v {
        case "auto": self = .auto
        case "cpu": self = .cpu
        case "opencl": self = .opencl(index: nil)
        default:
            if v.hasPrefix("opencl:"), let n = Int(v.dropFirst(7)), n >= 0 {
                self = .opencl(index: n)
            } else {
                throw ComputeError.unknownDevice(s)
            }
        }
    }

    /// The device, and a note for stderr when `auto` had to choose.
    ///
    /// `auto` takes the first OpenCL device of type GPU and otherwise the CPU backend (PoCL's CPU
    /// device is slower than `CPUDevice` for this work). `opencl:N` never falls back: it throws
    /// `OpenCLError` when there is no such device.
    public func make() throws -> (device: Device, note: String?) {
        switch self {
        case .cpu:
            return (CPUDevice(), nil)
        case .opencl(let index):
            return (try OpenCLDevice(index: index ?? 0), nil)
        case .auto:
            let gpu: OpenCLDeviceInfo?
            do {
                gpu = try OpenCLDevice.availableDevices().first { $0.isGPU }
            } catch {
                let d = CPUDevice()
                return (d, "device auto: OpenCL enumeration failed (\(error)); using \(d.name)")
            }
            guard let gpu else {
                let d = CPUDevice()
                return (d, "device auto: no OpenCL GPU found; using \(d.name)")
            }
            do {
                let d = try OpenCLDevice(index: gpu.index)
                return (d, "device auto: using \(d.name)")
            } catch {
                let d = CPUDevice()
                return (d, "device auto: OpenCL GPU \(gpu.name) failed to start (\(error)); using \(d.name)")
            }
        }
    }
}
