import Foundation
import _COpenCL

/// Device buffers recycled by byte size: a training step allocates the same sizes every step, so
/// after warm-up it creates no buffer at all. Buffers go back to the pool when their tensor (or
/// scratch) dies; reuse is safe because the one in-order queue runs a later command after every
/// earlier command that used the buffer. Sizes are rounded up to `SizeClass`es.
final class BufferPool: @unchecked Sendable {
    let context: OpenCLContext
    private let lists = FreeLists<cl_mem>()

    init(context: OpenCLContext) { self.context = context }

    deinit {
        // clReleaseMemObject defers the deletion until queued commands using the buffer finish.
        drain()
    }

    /// How many buffers were created with clCreateBuffer (not taken from the pool).
    var createdCount: Int { lists.createdCount }

    /// A buffer of at least `bytes` (OpenCL refuses empty buffers), pooled or new.
    func take(_ bytes: Int) throws -> OpenCLBuffer {
        let size = SizeClass.bytes(bytes)
        if let m = lists.take(size) { return OpenCLBuffer(mem: m, bytes: size, pool: self) }
        var err: cl_int = 0
        var mem = clCreateBuffer(context.context, cl_mem_flags(CL_MEM_READ_WRITE), size, nil, &err)
        if mem == nil || err != CL_SUCCESS {
            // Out of device memory: hand the idle pooled buffers back to the driver and try once more.
            drain()
            mem = clCreateBuffer(context.context, cl_mem_flags(CL_MEM_READ_WRITE), size, nil, &err)
        }
        guard let mem, err == CL_SUCCESS else { throw OpenCLError.call("clCreateBuffer(\(size) bytes)", status: err) }
        lists.noteCreated()
        return OpenCLBuffer(mem: mem, bytes: size, pool: self)
    }

    func recycle(_ mem: cl_mem, bytes: Int) { lists.put(mem, size: bytes) }

    /// Releases every idle buffer.
    func drain() {
        for m in lists.takeAll() { clReleaseMemObject(m) }
    }
}

/// The storage of an OpenCL tensor (and of op scratch): a `cl_mem` that returns to its pool on deinit.
final class OpenCLBuffer: DeviceStorage, @unchecked Sendable {
    let mem: cl_mem
    let bytes: Int
    let pool: BufferPool

    init(mem: cl_mem, bytes: Int, pool: BufferPool) {
        self.mem = mem
        self.bytes = bytes
        self.pool = pool
    }

    var memory: DeviceMemory { DeviceMemory(bits: UInt(bitPattern: mem)) }

    deinit { pool.recycle(mem, bytes: bytes) }
}
