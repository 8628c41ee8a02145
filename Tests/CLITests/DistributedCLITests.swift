import Foundation
import Testing

/// `--distributed`: what a user sees when MPI is asked for and cannot be had.
@Suite struct DistributedCLITests {
    @Test func aMissingOrForeignMPIIsOneClearError() throws {
        let missing = try CLI.run(
            ["train", "--distributed", "mpi", "--steps", "1"],
            environment: ["POYO_MPI_LIBRARY": "/nonexistent/libmpi.so.40"])
        #expect(missing.status == 1, "\(missing.stderr)")
        #expect(missing.stderr.contains("error: distributed: no usable MPI library"), "\(missing.stderr)")
        #expect(missing.stderr.contains("POYO_MPI_LIBRARY"), "\(missing.stderr)")
        let foreign = try CLI.run(
            ["train", "--distributed", "mpi", "--steps", "1"], environment: ["POYO_MPI_LIBRARY": "libm.so.6"])
        #expect(foreign.status == 1 && foreign.stderr.contains("not an MPI library"), "\(foreign.stderr)")
        // Launched by mpirun (its environment) without a usable MPI: the same error, not a single-process run.
        let launched = try CLI.run(
            ["train", "--steps", "1"],
            environment: ["OMPI_COMM_WORLD_SIZE": "2", "POYO_MPI_LIBRARY": "/nonexistent/libmpi.so.40"])
        #expect(launched.status == 1 && launched.stderr.contains("no usable MPI library"), "\(launched.stderr)")
    }

    @Test func gradAccumMustBePositive() throws {
        let r = try CLI.run(["train", "--grad-accum", "0", "--steps", "1"])
        #expect(r.status == 64 && r.stderr.contains("--grad-accum must be positive"), "\(r.stderr)")
    }
}
