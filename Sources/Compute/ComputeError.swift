/// Errors the compute layer reports instead of trapping.
public enum ComputeError: Error, CustomStringConvertible, Equatable {
    case shapeMismatch(op: String, detail: String)
    case wrongDevice(op: String)
    case wrongDType(op: String)
    case allocationFailed(bytes: Int)
    case unknownDevice(String)

    public var description: String {
        switch self {
        case .shapeMismatch(let op, let d): return "\(op): shape mismatch (\(d))"
        case .wrongDevice(let op): return "\(op): tensor belongs to another device"
        case .wrongDType(let op): return "\(op): wrong element type"
        case .allocationFailed(let b): return "could not allocate \(b) bytes"
        case .unknownDevice(let d):
            return "unknown device '\(d)' (expected auto, cpu, cuda, cuda:N, opencl or opencl:N)"
        }
    }
}
