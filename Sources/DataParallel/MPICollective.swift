import Foundation
import MPIShim

/// A data-parallel job launched by `mpirun` or `srun`, over the MPI library found at run time
/// (`MPIShim`: Open MPI's ABI or MPICH's). One per process.
public final class MPICollective: Collective {
    public let rank: Int
    public let size: Int
    /// The rank among the processes on this machine (a GPU per local rank).
    public let localRank: Int
    public let library: String
    public let version: String

    public var description: String { "\(Self.shortVersion(version)) (\(library)), \(size) processes" }

    /// `Open MPI v4.1.4` or `MPICH 4.0.2` from the library's long version text.
    static func shortVersion(_ text: String) -> String {
        let first = text.split(whereSeparator: \.isNewline).first.map(String.init) ?? "MPI"
        let name = first.split(separator: ",").first.map(String.init) ?? first
        return name.replacingOccurrences(of: "Version:", with: "").split(whereSeparator: \.isWhitespace)
            .joined(separator: " ")
    }

    /// Whether the environment says this process was started by an MPI launcher: Open MPI's
    /// `mpirun` (`OMPI_COMM_WORLD_SIZE`), MPICH's Hydra (`PMI_SIZE`, `MPI_LOCALNRANKS`) or a PMIx
    /// launcher such as `srun --mpi=pmix` (`PMIX_RANK`).
    public static func launched(_ env: [String: String] = ProcessInfo.processInfo.environment) -> Bool {
        ["OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "MPI_LOCALNRANKS"].contains { env[$0] != nil }
    }

    /// The libraries tried, in order: `POYO_MPI_LIBRARY`, then the launcher's family first.
    static func candidates(_ env: [String: String]) -> [String] {
        if let path = env["POYO_MPI_LIBRARY"], !path.isEmpty { return [path] }
        let openMPI = ["libmpi.so.40", "libmpi.so"]
        let mpich = ["libmpi.so.12", "libmpich.so.12", "libmpich.so"]
        return env["OMPI_COMM_WORLD_SIZE"] != nil ? openMPI + mpich : mpich + openMPI
    }

    /// Opens MPI, initialises it and learns this process's place in the job.
    public init(environment env: [String: String] = ProcessInfo.processInfo.environment) throws {
        var tried: [String] = []
        var opened: String?
        for path in Self.candidates(env) {
            if poyo_mpi_open(path) != Int32(POYO_MPI_NONE) {
                opened = path
                break
            }
            tried.append(String(cString: poyo_mpi_error()))
        }
        guard let opened else {
            throw DistributedError(
                "no usable MPI library (\(tried.joined(separator: "; "))); install the MPI that launched this "
                    + "job (Debian: openmpi-bin) or set POYO_MPI_LIBRARY to its libmpi.so")
        }
        library = opened
        var r: Int32 = 0
        var n: Int32 = 0
        guard poyo_mpi_init(&r, &n) == 0 else {
            throw DistributedError("\(opened): \(String(cString: poyo_mpi_error()))")
        }
        rank = Int(r)
        size = Int(n)
        var text = [CChar](repeating: 0, count: 512)
        _ = poyo_mpi_library_version(&text, text.count)
        version = String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let local = ["OMPI_COMM_WORLD_LOCAL_RANK", "MPI_LOCALRANKID", "PMIX_LOCAL_RANK", "SLURM_LOCALID"]
        localRank = local.lazy.compactMap { env[$0].flatMap(Int.init) }.first ?? 0
    }

    deinit { _ = poyo_mpi_finalize() }

    private func check(_ rc: Int32, _ what: String) throws {
        guard rc == 0 else { throw DistributedError("\(what): \(String(cString: poyo_mpi_error()))") }
    }

    public func allGather(_ bytes: [UInt8]) throws -> [[UInt8]] {
        guard bytes.count <= Int(Int32.max) else { throw DistributedError("allGather of \(bytes.count) bytes") }
        var counts = [Int32](repeating: 0, count: size)
        try check(poyo_mpi_allgather_int(Int32(bytes.count), &counts), "exchanging sizes")
        var displacements = [Int32](repeating: 0, count: size)
        var total = 0
        for i in 0..<size {
            displacements[i] = Int32(total)
            total += Int(counts[i])
            guard total <= Int(Int32.max) else { throw DistributedError("allGather of \(total) bytes") }
        }
        var received = [UInt8](repeating: 0, count: max(total, 1))
        try check(
            poyo_mpi_allgatherv(bytes, Int32(bytes.count), &received, counts, displacements), "gathering results")
        return (0..<size).map { Array(received[Int(displacements[$0])..<Int(displacements[$0] + counts[$0])]) }
    }

    /// Process c owns elements `c·n/size ..< (c+1)·n/size`: everyone sends it that slice
    /// (all-to-all), it adds the slices in rank order, and everyone gathers the sums.
    public func sumInRankOrder(_ values: inout [Float]) throws {
        let n = values.count
        let bounds = (0...size).map { $0 * n / size }
        let bytes = { (c: Int) in Int32((bounds[c + 1] - bounds[c]) * MemoryLayout<Float>.stride) }
        guard n * MemoryLayout<Float>.stride / max(size, 1) < Int(Int32.max) else {
            throw DistributedError("\(n) gradients are too many for one exchange")
        }
        let sendCounts = (0..<size).map(bytes)
        let sendDisplacements = (0..<size).map { Int32(bounds[$0] * MemoryLayout<Float>.stride) }
        let mine = bounds[rank + 1] - bounds[rank]
        let receiveCounts = [Int32](repeating: bytes(rank), count: size)
        let receiveDisplacements = (0..<size).map { Int32($0 * mine * MemoryLayout<Float>.stride) }
        var slices = [Float](repeating: 0, count: max(mine * size, 1))
        try check(
            poyo_mpi_alltoallv(values, sendCounts, sendDisplacements, &slices, receiveCounts, receiveDisplacements),
            "exchanging gradients")
        let summed = slices.withUnsafeBufferPointer { all in
            OrderedSum.sum(
                (0..<size).map { UnsafeBufferPointer(rebasing: all[($0 * mine)..<(($0 + 1) * mine)]) }, count: mine)
        }
        // Everyone's sums land where the slices came from: the same counts and displacements.
        try values.withUnsafeMutableBytes { out in
            try check(
                poyo_mpi_allgatherv(summed, bytes(rank), out.baseAddress, sendCounts, sendDisplacements),
                "gathering sums")
        }
    }

    public func abort(_ message: String) -> Never {
        FileHandle.standardError.write(Data("error: \(message) (rank \(rank) of \(size); ending the job)\n".utf8))
        poyo_mpi_abort(1)
        exit(1)
    }
}
