import Foundation
import NCCLShim

/// The GPUs of a data-parallel job exchanging gradients through NCCL, on each device's stream.
///
/// The sum is the one the MPI path computes (`OrderedSum`): for every element,
/// ((g₀ + g₁) + g₂) + … in rank order. NCCL's own all-reduce adds in an order its algorithm picks,
/// so it is not used: each rank broadcasts its gradients (one `ncclBroadcast` per rank and tensor,
/// in one group), and every rank adds the N copies in rank order with the device's `axpy`. That
/// moves N × P floats per rank instead of an all-reduce's 2 × P; fine for the few GPUs of one
/// machine, and what makes CUDA jobs give the same bits as CPU jobs' rank-ordered sums.
public final class NCCLCommunicator {
    public let ranks: Int
    public let rank: Int
    public let device: CUDADevice
    /// `NCCL 2.21.5 (libnccl.so.2)`.
    public let description: String
    private let comm: UnsafeMutableRawPointer?
    /// Per rank other than this one, per tensor reduced: where its copy arrives. `[shape of tensor]`.
    private var received: [[Tensor]] = []

    /// Opens NCCL (`POYO_LIBNCCL`, the loader's path, system folders, Python's `nvidia/nccl/lib`).
    /// Returns the library's path or throws `CUDAError.libraryNotFound` naming where it looked.
    public static func open(environment env: [String: String] = ProcessInfo.processInfo.environment) throws
        -> String
    {
        let handle = try CUDALibraries.open(CUDALibraries.nccl, environment: env)
        guard poyo_nccl_open(handle.path) == 0 else {
            throw CUDAError.call("dlopen", status: -1, message: String(cString: poyo_nccl_error()))
        }
        return handle.path
    }

    /// A new unique id, made by rank 0 and sent to the others (over MPI) before `init`.
    public static func uniqueID() throws -> [UInt8] {
        var id = [UInt8](repeating: 0, count: Int(POYO_NCCL_UNIQUE_ID_BYTES))
        try check(poyo_nccl_unique_id(&id))
        return id
    }

    /// Joins the communicator of `ranks` processes named by `id` as `rank`, on `device`.
    public init(device: CUDADevice, ranks: Int, rank: Int, id: [UInt8], library: String) throws {
        guard id.count == Int(POYO_NCCL_UNIQUE_ID_BYTES) else {
            throw CUDAError.call("ncclCommInitRank", status: -1, message: "unique id of \(id.count) bytes")
        }
        self.device = device
        self.ranks = ranks
        self.rank = rank
        var version: Int32 = 0
        _ = poyo_nccl_version(&version)
        description = "NCCL \(version / 10000).\(version / 100 % 100).\(version % 100) (\(library))"
        var c: UnsafeMutableRawPointer?
        try Self.check(poyo_nccl_init_rank(&c, Int32(ranks), id, Int32(rank)))
        comm = c
    }

    deinit { _ = poyo_nccl_destroy(comm) }

    static func check(_ rc: Int32) throws {
        guard rc == 0 else { throw CUDAError.call("NCCL", status: rc, message: String(cString: poyo_nccl_error())) }
    }

    /// Replaces each of `tensors` (the same shapes on every rank) by its sum over ranks, added in
    /// rank order, on the device's stream.
    public func sumInRankOrder(_ tensors: [Tensor]) throws {
        if received.isEmpty {
            received = try (0..<ranks).map { r in
                r == rank ? [] : try tensors.map { try device.makeTensor($0.shape, dtype: .float32) }
            }
        }
        let copies = (0..<ranks).flatMap { $0 == rank ? tensors : received[$0] }
        try device.withStream(copies) { stream, addresses in
            try Self.check(poyo_nccl_group_start())
            var at = 0
            for root in 0..<ranks {
                for t in tensors {
                    // The root sends its own tensor; everyone else receives into its copy of root's.
                    let mine = root == rank
                    let target = addresses[at]
                    let source = mine ? target : nil
                    try Self.check(
                        poyo_nccl_broadcast_floats(source, target, t.count, Int32(root), comm, stream))
                    at += 1
                }
            }
            try Self.check(poyo_nccl_group_end())
        }
        // ((g₀ + g₁) + g₂) + …: the sum builds in rank 0's copy, which is this rank's own tensor
        // only on rank 0; elsewhere it builds in `received[0]` and is copied back at the end.
        for (i, t) in tensors.enumerated() {
            let sum = rank == 0 ? t : received[0][i]
            for r in 1..<ranks {
                device.axpy(1, r == rank ? t : received[r][i], sum)
            }
            if rank != 0 { device.copy(sum, to: t) }
        }
    }
}
