import Foundation
import _COpenCL

/// Programs, kernel objects and launches on an OpenCL queue.
extension OpenCLQueue {
    func options(_ id: ProgramID) -> String {
        id.defines.isEmpty ? OpenCLDevice.baseOptions : OpenCLDevice.baseOptions + " " + id.defines
    }

    /// Program `id`, built once per process (per context).
    @discardableResult
    func program(_ id: ProgramID) throws -> OpenCLProgram {
        try context.program(id.file, options: options(id), cache: kernelCache)
    }

    /// The kernel `name` of program `id` and its parameter count (CL_KERNEL_NUM_ARGS), created once
    /// per queue.
    func kernel(_ id: ProgramID, _ name: String) throws -> (kernel: cl_kernel, arguments: Int) {
        let key = id.file + "|" + id.defines + "|" + name
        if let k = kernels[key] { return k }
        // The context keeps its programs for the life of the process.
        let program = try program(id)
        var err: cl_int = 0
        guard let k = clCreateKernel(program.handle, name, &err), err == CL_SUCCESS else {
            throw OpenCLError.call("clCreateKernel(\(id.file).\(name))", status: err)
        }
        var count: cl_uint = 0
        let st = clGetKernelInfo(k, cl_kernel_info(CL_KERNEL_NUM_ARGS), MemoryLayout<cl_uint>.size, &count, nil)
        guard st == CL_SUCCESS else {
            clReleaseKernel(k)
            throw OpenCLError.call("clGetKernelInfo(\(id.file).\(name), CL_KERNEL_NUM_ARGS)", status: st)
        }
        kernels[key] = (k, Int(count))
        return (k, Int(count))
    }

    /// `clSetKernelArg` for a plain value.
    private func setArg<T: BitwiseCopyable>(_ kernel: cl_kernel, _ index: Int, _ value: T) throws {
        let st = withUnsafeBytes(of: value) { clSetKernelArg(kernel, cl_uint(index), $0.count, $0.baseAddress) }
        try OpenCLError.check(st, "clSetKernelArg(\(index))")
    }

    func launch(_ id: ProgramID, _ name: String, global: Int, local: Int, _ args: [KernelArg]) throws {
        let (k, expected) = try kernel(id, name)
        // A host call that drifted from the kernel's signature fails here, not as garbage results.
        guard args.count == expected else {
            throw KernelSignatureError(kernel: "\(id.file).cl \(name)", expected: expected, given: args.count)
        }
        for (i, a) in args.enumerated() {
            switch a {
            case .mem(let m):
                if let m = Self.mem(m) {
                    try setArg(k, i, m)
                } else {
                    try OpenCLError.check(
                        clSetKernelArg(k, cl_uint(i), MemoryLayout<cl_mem?>.size, nil), "clSetKernelArg(\(i))")
                }
            case .int(let v): try setArg(k, i, v)
            case .uint(let v): try setArg(k, i, v)
            case .ulong(let v): try setArg(k, i, v)
            case .float(let v): try setArg(k, i, v)
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
