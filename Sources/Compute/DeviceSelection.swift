import Foundation

/// Parses `--device auto|cpu|cuda[:N]|opencl[:N]` and makes the device.
public enum DeviceSelection: Equatable, Sendable {
    case auto
    case cpu
    /// Device N of `CUDADevice.availableDevices()`; nil means 0.
    case cuda(index: Int?)
    /// Device N of `OpenCLDevice.availableDevices()` (all platforms, flattened); nil means 0.
    case opencl(index: Int?)

    public init(parsing s: String) throws {
        let v = s.lowercased()
        switch v {
        case "auto": self = .auto
        case "cpu": self = .cpu
        case "cuda": self = .cuda(index: nil)
        case "opencl": self = .opencl(index: nil)
        default:
            if v.hasPrefix("opencl:"), let n = Int(v.dropFirst(7)), n >= 0 {
                self = .opencl(index: n)
            } else if v.hasPrefix("cuda:"), let n = Int(v.dropFirst(5)), n >= 0 {
                self = .cuda(index: n)
            } else {
                throw ComputeError.unknownDevice(s)
            }
        }
    }

    /// The device, and a note for stderr when `auto` had to choose.
    ///
    /// `auto` takes the first CUDA device, else the first OpenCL device of type GPU, else the CPU
    /// backend (PoCL's CPU device is slower than `CPUDevice` for this work), and says why.
    /// `cuda[:N]` and `opencl[:N]` never fall back: they throw when there is no such device (for
    /// CUDA without a driver: one line naming libcuda).
    ///
    /// `localRank`: this process's rank among a data-parallel job's processes on this machine;
    /// `auto` and `cuda` without an index then take CUDA device `localRank` mod the device count
    /// (one GPU per process).
    public func make(localRank: Int = 0) throws -> (device: Device, note: String?) {
        switch self {
        case .cpu:
            return (CPUDevice(), nil)
        case .cuda(let index):
            let count = localRank > 0 && index == nil ? (try CUDADevice.availableDevices().count) : 1
            return (try CUDADevice(index: index ?? localRank % max(count, 1)), nil)
        case .opencl(let index):
            return (try OpenCLDevice(index: index ?? 0), nil)
        case .auto:
            var passedOver: [String] = []
            switch Result(catching: { try CUDADevice.availableDevices() }) {
            case .success(let devices) where !devices.isEmpty:
                do {
                    let d = try CUDADevice(index: localRank % devices.count)
                    return (d, "device auto: using \(d.name)")
                } catch {
                    passedOver.append("CUDA device \(devices[0].name) failed to start (\(error))")
                }
            case .success: passedOver.append("no CUDA device")
            case .failure(CUDAError.libraryNotFound("libcuda", _)): passedOver.append("no CUDA driver")
            case .failure(let error): passedOver.append("CUDA unavailable (\(error))")
            }
            let gpu: OpenCLDeviceInfo?
            do {
                gpu = try OpenCLDevice.availableDevices().first { $0.isGPU }
            } catch {
                let d = CPUDevice()
                return (
                    d,
                    "device auto: \(passedOver.joined(separator: ", ")); OpenCL enumeration failed "
                        + "(\(error)); using \(d.name)"
                )
            }
            guard let gpu else {
                let d = CPUDevice()
                return (d, "device auto: \(passedOver.joined(separator: ", ")), no OpenCL GPU found; using \(d.name)")
            }
            do {
                let d = try OpenCLDevice(index: gpu.index)
                return (d, "device auto: \(passedOver.joined(separator: ", ")); using \(d.name)")
            } catch {
                let d = CPUDevice()
                return (d, "device auto: OpenCL GPU \(gpu.name) failed to start (\(error)); using \(d.name)")
            }
        }
    }
}

extension DeviceSelection: CustomStringConvertible {
    /// The text `init(parsing:)` reads back.
    public var description: String {
        switch self {
        case .auto: return "auto"
        case .cpu: return "cpu"
        case .cuda(let i): return i.map { "cuda:\($0)" } ?? "cuda"
        case .opencl(let i): return i.map { "opencl:\($0)" } ?? "opencl"
        }
    }
}
