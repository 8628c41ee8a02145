import Compute
import DataParallel
import Foundation

/// Gradient exchange between the GPUs of a job: NCCL on the devices' streams when every process
/// runs on CUDA and can open NCCL; otherwise (nil) the gradients go through the host and MPI.
public enum GPUExchange {
    /// Every process of `job` calls this with its device (collective). NCCL is used only when all
    /// can: the processes agree first, then rank 0's unique id reaches the others over MPI.
    public static func make(device: Device, job: Collective, note: (String) -> Void) throws -> NCCLCommunicator? {
        guard job.size > 1 else { return nil }
        var library: String?
        var problem = "not a CUDA device"
        if device is CUDADevice {
            do {
                library = try NCCLCommunicator.open()
            } catch {
                problem = "\(error)"
            }
        }
        let ready = try job.allGather([library == nil ? 0 : 1])
        guard let library, let cuda = device as? CUDADevice, ready.allSatisfy({ $0 == [1] }) else {
            let missing = ready.indices.filter { ready[$0] != [1] }
            if device is CUDADevice {
                note(
                    "distributed: no NCCL on rank(s) \(missing.map(String.init).joined(separator: ", "))"
                        + (library == nil ? " (\(problem))" : "") + "; gradients go through the host and MPI")
            }
            return nil
        }
        let id = try job.allGather(job.rank == 0 ? try NCCLCommunicator.uniqueID() : [])[0]
        let nccl = try NCCLCommunicator(device: cuda, ranks: job.size, rank: job.rank, id: id, library: library)
        note("distributed: gradients between GPUs over \(nccl.description)")
        return nccl
    }
}
