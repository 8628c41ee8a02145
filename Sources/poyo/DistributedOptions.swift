import ArgumentParser
import DataParallel
import Foundation
import POYO

/// How a run spreads over processes (`--distributed`); docs/distributed.md.
enum DistributedMode: String, ExpressibleByArgument, CaseIterable {
    /// MPI when an MPI launcher started this process, else one process.
    case auto
    case mpi
    case none
}

struct DistributedOptions: ParsableArguments {
    @Option(help: "Data-parallel processes: auto (MPI when launched by mpirun or srun), mpi, or none.")
    var distributed: DistributedMode = .auto

    /// The job this process belongs to, or nil when it runs alone. In a job of several processes,
    /// ranks other than 0 stay quiet (rank 0 prints and writes), and unless `POYO_NUM_THREADS` says
    /// otherwise the CPU backend of each process takes its share of this machine's cores.
    func join() throws -> Collective? {
        let env = ProcessInfo.processInfo.environment
        switch distributed {
        case .none: return nil
        case .auto where !MPICollective.launched(env): return nil
        case .auto, .mpi: break
        }
        let job = try MPICollective(environment: env)
        guard job.size > 1 else { return job }
        if job.rank != 0 { Console.quiet = true }
        let local =
            ["OMPI_COMM_WORLD_LOCAL_SIZE", "MPI_LOCALNRANKS", "PMIX_LOCAL_SIZE", "SLURM_NTASKS_PER_NODE"]
            .lazy.compactMap { env[$0].flatMap(Int.init) }.first ?? 1
        if env["POYO_NUM_THREADS"] == nil && local > 1 {
            let threads = max(1, ProcessInfo.processInfo.activeProcessorCount / local)
            setenv("POYO_NUM_THREADS", String(threads), 1)
        }
        note("distributed: \(job.description); this is rank \(job.rank)")
        return job
    }
}

/// What the CLI prints: nothing but errors in the quiet ranks of a job.
enum Console {
    nonisolated(unsafe) static var quiet = false
}
