import Foundation
import _COpenCL

/// One kernel argument. Scalars are copied bytewise (their Swift layout is the C layout).
enum KernelArg {
    case mem(cl_mem?)  // nil passes a NULL buffer (an argument the kernel does not read)
    case int(Int32)
    case uint(UInt32)
    case ulong(UInt64)
    case float(Float)

    /// An element count, index or size: the device refuses tensors past Int32.max elements, so it fits.
    static func i(_ x: Int) -> KernelArg { .int(Int32(truncatingIfNeeded: x)) }
    static func flag(_ b: Bool) -> KernelArg { .int(b ? 1 : 0) }
}

/// `clSetKernelArg` for a plain value.
func setKernelArg<T: BitwiseCopyable>(_ kernel: cl_kernel, _ index: Int, _ value: T) throws {
    let st = withUnsafeBytes(of: value) { clSetKernelArg(kernel, cl_uint(index), $0.count, $0.baseAddress) }
    try OpenCLError.check(st, "clSetKernelArg(\(index))")
}

/// The programs the device builds: a kernel family (`Kernels/cl/<file>.cl`) plus its extra defines.
struct ProgramID: Hashable {
    let file: String
    var defines: String = ""

    static let elementwise = ProgramID(file: "elementwise")
    static let reduce = ProgramID(file: "reduce")
    static let embedding = ProgramID(file: "embedding")
    static let layernorm = ProgramID(file: "layernorm")
    static let geglu = ProgramID(file: "geglu")
    static let rotary = ProgramID(file: "rotary")
    static let loss = ProgramID(file: "loss")
    static let optim = ProgramID(file: "optim")
    /// Head dim as a define: per-work-item rows then live in private memory.
    static func attention(headDim: Int) -> ProgramID { ProgramID(file: "attention", defines: "-D HEAD_DIM=\(headDim)") }

    /// Every family without size defines, built when a device is made so a broken kernel fails early.
    static let fixed: [ProgramID] = [.elementwise, .reduce, .embedding, .layernorm, .geglu, .rotary, .loss, .optim]
}

extension OpenCLDevice {
    /// Work-group size of reductions and row kernels (a power of two every OpenCL device supports).
    static let groupSize = 128

    /// Build options shared by every program.
    public static let baseOptions = "-cl-std=CL1.2 -D WG=\(groupSize)"

    func options(_ id: ProgramID) -> String {
        id.defines.isEmpty ? Self.baseOptions : Self.baseOptions + " " + id.defines
    }

    /// The kernel `name` of program `id`, created once per device (kernel objects carry their
    /// arguments, so devices do not share them). Caller holds `lock`.
    func kernel(_ id: ProgramID, _ name: String) throws -> cl_kernel {
        let key = id.file + "|" + id.defines + "|" + name
        if let k = kernels[key] { return k }
        // The context keeps its programs for the life of the process.
        let program = try context.program(id.file, options: options(id), cache: kernelCache)
        var err: cl_int = 0
        guard let k = clCreateKernel(program.handle, name, &err), err == CL_SUCCESS else {
            throw OpenCLError.call("clCreateKernel(\(id.file).\(name))", status: err)
        }
        kernels[key] = k
        return k
    }

    /// Enqueues `name` over `global` work-items (rounded up to a multiple of `local`; kernels check
    /// bounds). Caller holds `lock`; nothing is launched for an empty range.
    func launch(_ id: ProgramID, _ name: String, global: Int, local: Int = OpenCLDevice.groupSize, _ args: [KernelArg])
        throws
    {
        guard global > 0 else { return }
        let k = try kernel(id, name)
        for (i, a) in args.enumerated() {
            switch a {
            case .mem(let m):
                if let m {
                    try setKernelArg(k, i, m)
                } else {
                    try OpenCLError.check(
                        clSetKernelArg(k, cl_uint(i), MemoryLayout<cl_mem?>.size, nil), "clSetKernelArg(\(i))")
                }
            case .int(let v): try setKernelArg(k, i, v)
            case .uint(let v): try setKernelArg(k, i, v)
            case .ulong(let v): try setKernelArg(k, i, v)
            case .float(let v): try setKernelArg(k, i, v)
            }
        }
        var g = (global + local - 1) / local * local
        var l = local
        var event: cl_event?
        let st =
            profiling == nil
            ? clEnqueueNDRangeKernel(queue, k, 1, nil, &g, &l, 0, nil, nil)
            : clEnqueueNDRangeKernel(queue, k, 1, nil, &g, &l, 0, nil, &event)
        try OpenCLError.check(st, "clEnqueueNDRangeKernel(\(id.file).\(name))")
        if let event { profiling?.append((name, event)) }
    }
}
