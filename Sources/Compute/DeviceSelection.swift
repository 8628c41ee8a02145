import Foundation

/// Parses `--device auto|cpu|opencl[:N]` and makes the device.
public enum DeviceSelection: Equatable, Sendable {
    case auto
    case cpu
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
                throw ComputeError.unknownDevice("\(s)' (expected auto, cpu, opencl or opencl:N")
            }
        }
    }

    /// The device, and a note for stderr when `auto` had to choose.
    public func make() throws -> (device: Device, note: String?) {
        switch self {
        case .cpu:
            return (CPUDevice(), nil)
        case .auto:
            let d = CPUDevice()
            return (d, "device auto: no OpenCL backend in this build; using \(d.name)")
        case .opencl:
            throw ComputeError.unknownDevice("opencl' (the OpenCL backend is not part of this build yet; use --device cpu")
        }
    }
}
