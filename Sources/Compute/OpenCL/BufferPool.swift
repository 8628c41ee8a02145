import Foundation
import _COpenCL

/// Device buffers recycled by byte size: a training step allocates the same sizes every step, so
/// after warm-up it creates no buffer at all. Buffers go back to the pool when their tensor (or
/// scratch) dies; reuse is safe because the one in-order queue runs a later command after every
/// earlier command that used the buffer.
///
/// Sizes are rounded up to classes of the form m·2^e with m in 8…15 (at most 12.5 % slack):
/// packed batches change their token count every step, and exact sizes would leave one idle
/// buffer behind for every count ever seen.
final class BufferPool: @unchecked Sendable {
    let context: OpenCLContext
    private let lock = NSLock()
    private var free: [Int: [cl_mem]] = [:]
    private var _created = 0

    init(context: OpenCLContext) { self.context = context }

    deinit {
        // clReleaseMemObject defers the deletion until queued commands using the buffer finish.
        for list in free.values { for m in list { clReleaseMemObject(m) } }
    }

    /// How many buffers were created with clCreateBuffer (not taken from the pool).
    var createdCount: Int {
        lock.lock()
        defer { lock.unlock() }
        return _created
    }

    /// The size class holding `bytes` (`SizeClass`, shared with the CPU pool).
    static func sizeClass(_ bytes: Int) -> Int { SizeClass.bytes(bytes) }

    /// A buffer of at least `bytes` (OpenCL refuses empty buffers), pooled or new.
    func take(_ bytes: Int) throws -> OpenCLBuffer {
        let size = Self.sizeClass(bytes)
        lock.lock()
        if var list = free[size], let m = list.popLast() {
            free[size] = list
            lock.unlock()
            return OpenCLBuffer(mem: m, bytes: size, pool: self)
        }
        lock.unlock()
        var err: cl_int = 0
        var mem = clCreateBuffer(context.context, cl_mem_flags(CL_MEM_READ_WRITE), size, nil, &err)
        if mem == nil || err != CL_SUCCESS {
            // Out of device memory: hand the idle pooled buffers back to the driver and try once more.
            drain()
            mem = clCreateBuffer(context.context, cl_mem_flags(CL_MEM_READ_WRITE), size, nil, &err)
        }
        guard let mem, err == CL_SUCCESS else { throw OpenCLError.call("clCreateBuffer(\(size) bytes)", status: err) }
        lock.lock()
        _created += 1
        lock.unlock()
        return OpenCLBuffer(mem: mem, bytes: size, pool: self)
    }

    func recycle(_ mem: cl_mem, bytes: Int) {
        lock.lock()
        defer { lock.unlock() }
        free[bytes, default: []].append(mem)
    }

    /// Releases every idle buffer.
    func drain() {
        lock.lock()
        let all = free.values.flatMap { $0 }
        free.removeAll()
        lock.unlock()
        for m in all { clReleaseMemObject(m) }
    }
}

/// The storage of an OpenCL tensor (and of op scratch): a `cl_mem` that returns to its pool on deinit.
final class OpenCLBuffer: @unchecked Sendable {
    let mem: cl_mem
    let bytes: Int
    let pool: BufferPool

    init(mem: cl_mem, bytes: Int, pool: BufferPool) {
        self.mem = mem
        self.bytes = bytes
        self.pool = pool
    }

    deinit { pool.recycle(mem, bytes: bytes) }
}
