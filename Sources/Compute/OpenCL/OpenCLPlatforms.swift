import Foundation
import _COpenCL

/// One OpenCL device as `poyo devices` lists it. `index` is its position in the flat list of all
/// devices across platforms: the `N` of `--device opencl:N`.
public struct OpenCLDeviceInfo: Sendable, Equatable {
    public let index: Int
    public let platformName: String
    public let platformVersion: String
    public let name: String
    public let vendor: String
    /// "GPU", "CPU", "accelerator", … (CL_DEVICE_TYPE).
    public let type: String
    public let isGPU: Bool
    public let computeUnits: Int
    public let globalMemoryBytes: UInt64
    public let maxAllocationBytes: UInt64
    /// CL_DEVICE_VERSION, e.g. "OpenCL 1.2 PoCL …".
    public let openCLVersion: String
    /// CL_DRIVER_VERSION.
    public let driverVersion: String
    public let hasFloat64: Bool
}

/// Platform and device handles, enumerated once per process: PoCL answers concurrent first
/// `clGetDeviceIDs` calls with CL_DEVICE_NOT_FOUND, and Swift Testing runs tests in parallel.
/// A `static let` is initialised exactly once, other threads waiting for it.
struct OpenCLPlatforms: @unchecked Sendable {
    struct Entry {
        let platform: cl_platform_id
        let device: cl_device_id
        let info: OpenCLDeviceInfo
    }

    let entries: [Entry]

    static let shared: Result<OpenCLPlatforms, Error> = Result { try OpenCLPlatforms() }

    static func get() throws -> OpenCLPlatforms { try shared.get() }

    private init() throws {
        var count: cl_uint = 0
        let st = clGetPlatformIDs(0, nil, &count)
        // ocl-icd reports "no platform" as CL_PLATFORM_NOT_FOUND_KHR: an empty list, not a failure.
        if st == -1001 || count == 0 {
            entries = []
            return
        }
        try OpenCLError.check(st, "clGetPlatformIDs")
        var platforms = [cl_platform_id?](repeating: nil, count: Int(count))
        try OpenCLError.check(clGetPlatformIDs(count, &platforms, nil), "clGetPlatformIDs")

        var found: [Entry] = []
        for case let platform? in platforms {
            var n: cl_uint = 0
            let s = clGetDeviceIDs(platform, cl_device_type(CL_DEVICE_TYPE_ALL), 0, nil, &n)
            if s == CL_DEVICE_NOT_FOUND || n == 0 { continue }  // a platform without devices
            try OpenCLError.check(s, "clGetDeviceIDs")
            var devices = [cl_device_id?](repeating: nil, count: Int(n))
            try OpenCLError.check(
                clGetDeviceIDs(platform, cl_device_type(CL_DEVICE_TYPE_ALL), n, &devices, nil),
                "clGetDeviceIDs")
            for case let device? in devices {
                found.append(
                    Entry(
                        platform: platform, device: device,
                        info: try Self.describe(index: found.count, platform: platform, device: device)))
            }
        }
        entries = found
    }

    private static func describe(index: Int, platform: cl_platform_id, device: cl_device_id) throws -> OpenCLDeviceInfo
    {
        let type: cl_device_type = try deviceValue(device, CL_DEVICE_TYPE)
        let typeName: String
        if type & cl_device_type(CL_DEVICE_TYPE_GPU) != 0 {
            typeName = "GPU"
        } else if type & cl_device_type(CL_DEVICE_TYPE_CPU) != 0 {
            typeName = "CPU"
        } else if type & cl_device_type(CL_DEVICE_TYPE_ACCELERATOR) != 0 {
            typeName = "accelerator"
        } else {
            typeName = "other"
        }
        let fp64: cl_device_fp_config = try deviceValue(device, CL_DEVICE_DOUBLE_FP_CONFIG)
        let units: cl_uint = try deviceValue(device, CL_DEVICE_MAX_COMPUTE_UNITS)
        let global: cl_ulong = try deviceValue(device, CL_DEVICE_GLOBAL_MEM_SIZE)
        let maxAlloc: cl_ulong = try deviceValue(device, CL_DEVICE_MAX_MEM_ALLOC_SIZE)
        return OpenCLDeviceInfo(
            index: index,
            platformName: try platformString(platform, CL_PLATFORM_NAME),
            platformVersion: try platformString(platform, CL_PLATFORM_VERSION),
            name: try deviceString(device, CL_DEVICE_NAME),
            vendor: try deviceString(device, CL_DEVICE_VENDOR),
            type: typeName, isGPU: typeName == "GPU",
            computeUnits: Int(units), globalMemoryBytes: global, maxAllocationBytes: maxAlloc,
            openCLVersion: try deviceString(device, CL_DEVICE_VERSION),
            driverVersion: try deviceString(device, CL_DRIVER_VERSION),
            hasFloat64: fp64 != 0)
    }
}

/// A fixed-size device property (`cl_uint`, `cl_ulong`, bitfields).
func deviceValue<T: BitwiseCopyable>(_ device: cl_device_id, _ param: Int32) throws -> T {
    var bytes = [UInt8](repeating: 0, count: MemoryLayout<T>.size)
    try OpenCLError.check(
        clGetDeviceInfo(device, cl_device_info(param), bytes.count, &bytes, nil), "clGetDeviceInfo(\(param))")
    return bytes.withUnsafeBytes { $0.loadUnaligned(as: T.self) }
}

func deviceString(_ device: cl_device_id, _ param: Int32) throws -> String {
    try clString("clGetDeviceInfo(\(param))") { clGetDeviceInfo(device, cl_device_info(param), $0, $1, $2) }
}

func platformString(_ platform: cl_platform_id, _ param: Int32) throws -> String {
    try clString("clGetPlatformInfo(\(param))") { clGetPlatformInfo(platform, cl_platform_info(param), $0, $1, $2) }
}

/// Reads a string property with the usual two calls (size, then bytes) and decodes up to the first NUL.
func clString(_ call: String, _ query: (Int, UnsafeMutableRawPointer?, UnsafeMutablePointer<Int>?) -> cl_int) throws
    -> String
{
    var size = 0
    try OpenCLError.check(query(0, nil, &size), call)
    var bytes = [UInt8](repeating: 0, count: max(size, 1))
    try OpenCLError.check(bytes.withUnsafeMutableBytes { query(size, $0.baseAddress, nil) }, call)
    let end = bytes.firstIndex(of: 0) ?? bytes.count
    return String(decoding: bytes[..<end], as: UTF8.self).trimmingCharacters(in: .whitespaces)
}
