import Foundation
import _COpenCL

/// An OpenCL failure: the call that failed and its status, named as in `cl.h`.
public enum OpenCLError: Error, CustomStringConvertible, Equatable {
    /// `call` returned `status`.
    case call(String, status: Int32)
    /// A program failed to build; `log` is the compiler's build log.
    case build(program: String, status: Int32, log: String)
    /// No OpenCL platform with a device is installed (no ICD, or the ICD's library is missing).
    case noDevice
    /// `opencl:index` asked for a device past the end of the list.
    case noSuchDevice(index: Int, available: Int)

    public var description: String {
        switch self {
        case .call(let call, let status):
            return "\(call) failed: \(OpenCLError.name(of: status)) (\(status))"
        case .build(let program, let status, let log):
            let trimmed = log.trimmingCharacters(in: .whitespacesAndNewlines)
            return "building OpenCL program '\(program)' failed: \(OpenCLError.name(of: status)) (\(status))\n"
                + (trimmed.isEmpty ? "(empty build log)" : trimmed)
        case .noDevice:
            return "no OpenCL device found (is an OpenCL driver/ICD installed? `clinfo -l` lists them)"
        case .noSuchDevice(let index, let available):
            return
                "opencl:\(index): there \(available == 1 ? "is" : "are") \(available) OpenCL "
                + "device\(available == 1 ? "" : "s")"
                + (available > 0 ? " (opencl:0…opencl:\(available - 1))" : "")
        }
    }

    /// Throws `.call(call, status)` unless `status` is `CL_SUCCESS`.
    static func check(_ status: cl_int, _ call: @autoclosure () -> String) throws {
        if status != CL_SUCCESS { throw OpenCLError.call(call(), status: status) }
    }

    /// The `CL_…` name of an OpenCL status code.
    public static func name(of status: Int32) -> String {
        statusNames[status] ?? "unknown OpenCL status"
    }

    private static let statusNames: [Int32: String] = [
        0: "CL_SUCCESS", -1: "CL_DEVICE_NOT_FOUND", -2: "CL_DEVICE_NOT_AVAILABLE",
        -3: "CL_COMPILER_NOT_AVAILABLE", -4: "CL_MEM_OBJECT_ALLOCATION_FAILURE", -5: "CL_OUT_OF_RESOURCES",
        -6: "CL_OUT_OF_HOST_MEMORY", -7: "CL_PROFILING_INFO_NOT_AVAILABLE", -8: "CL_MEM_COPY_OVERLAP",
        -9: "CL_IMAGE_FORMAT_MISMATCH", -10: "CL_IMAGE_FORMAT_NOT_SUPPORTED", -11: "CL_BUILD_PROGRAM_FAILURE",
        -12: "CL_MAP_FAILURE", -13: "CL_MISALIGNED_SUB_BUFFER_OFFSET",
        -14: "CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST", -15: "CL_COMPILE_PROGRAM_FAILURE",
        -16: "CL_LINKER_NOT_AVAILABLE", -17: "CL_LINK_PROGRAM_FAILURE", -18: "CL_DEVICE_PARTITION_FAILED",
        -19: "CL_KERNEL_ARG_INFO_NOT_AVAILABLE",
        -30: "CL_INVALID_VALUE", -31: "CL_INVALID_DEVICE_TYPE", -32: "CL_INVALID_PLATFORM",
        -33: "CL_INVALID_DEVICE", -34: "CL_INVALID_CONTEXT", -35: "CL_INVALID_QUEUE_PROPERTIES",
        -36: "CL_INVALID_COMMAND_QUEUE", -37: "CL_INVALID_HOST_PTR", -38: "CL_INVALID_MEM_OBJECT",
        -39: "CL_INVALID_IMAGE_FORMAT_DESCRIPTOR", -40: "CL_INVALID_IMAGE_SIZE", -41: "CL_INVALID_SAMPLER",
        -42: "CL_INVALID_BINARY", -43: "CL_INVALID_BUILD_OPTIONS", -44: "CL_INVALID_PROGRAM",
        -45: "CL_INVALID_PROGRAM_EXECUTABLE", -46: "CL_INVALID_KERNEL_NAME", -47: "CL_INVALID_KERNEL_DEFINITION",
        -48: "CL_INVALID_KERNEL", -49: "CL_INVALID_ARG_INDEX", -50: "CL_INVALID_ARG_VALUE",
        -51: "CL_INVALID_ARG_SIZE", -52: "CL_INVALID_KERNEL_ARGS", -53: "CL_INVALID_WORK_DIMENSION",
        -54: "CL_INVALID_WORK_GROUP_SIZE", -55: "CL_INVALID_WORK_ITEM_SIZE", -56: "CL_INVALID_GLOBAL_OFFSET",
        -57: "CL_INVALID_EVENT_WAIT_LIST", -58: "CL_INVALID_EVENT", -59: "CL_INVALID_OPERATION",
        -60: "CL_INVALID_GL_OBJECT", -61: "CL_INVALID_BUFFER_SIZE", -62: "CL_INVALID_MIP_LEVEL",
        -63: "CL_INVALID_GLOBAL_WORK_SIZE", -64: "CL_INVALID_PROPERTY", -65: "CL_INVALID_IMAGE_DESCRIPTOR",
        -66: "CL_INVALID_COMPILER_OPTIONS", -67: "CL_INVALID_LINKER_OPTIONS", -68: "CL_INVALID_DEVICE_PARTITION_COUNT",
        -1001: "CL_PLATFORM_NOT_FOUND_KHR",
    ]
}

/// A CLBlast routine failed. CLBlast shares OpenCL's codes below −1000 and adds its own.
public struct CLBlastError: Error, CustomStringConvertible, Equatable {
    public let call: String
    public let status: Int32

    public var description: String { "\(call) failed: \(CLBlastError.name(of: status)) (\(status))" }

    static func name(of status: Int32) -> String {
        if status > -1000 { return OpenCLError.name(of: status) }
        switch status {
        case -1024: return "CLBlastNotImplemented"
        case -1022: return "CLBlastInvalidMatrixA"
        case -1021: return "CLBlastInvalidMatrixB"
        case -1020: return "CLBlastInvalidMatrixC"
        case -1017: return "CLBlastInvalidDimension"
        case -1016: return "CLBlastInvalidLeadDimA"
        case -1015: return "CLBlastInvalidLeadDimB"
        case -1014: return "CLBlastInvalidLeadDimC"
        case -1011: return "CLBlastInsufficientMemoryA"
        case -1010: return "CLBlastInsufficientMemoryB"
        case -1009: return "CLBlastInsufficientMemoryC"
        case -2046: return "CLBlastInvalidLocalMemUsage"
        case -2041: return "CLBlastDatabaseError"
        case -2040: return "CLBlastUnknownError"
        case -2039: return "CLBlastUnexpectedError"
        default: return "CLBlast status"
        }
    }
}
