import ArgumentParser
import Compute
import DataParallel
import Foundation
import POYO
import POYOData

/// `poyo-bench reduce`: one step's gradient exchange alone (`TrainingStepper.sumGradientsOverJob`)
/// at the 1.3M and 11.8M parameter sets. Under `mpirun -np N` over MPI (the host path) or, on CUDA
/// devices with NCCL, over NCCL; alone, NCCL with one rank (what the GPU device check can run).
struct Reduce: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Time the gradient exchange of data-parallel training.")

    @Option(help: "Comma-separated model configs: 1.3M, 11.8M.") var model = "1.3M,11.8M"
    @Option(help: "Timed exchanges per model.") var reps = 10
    @Option(help: "Device: cpu, cuda, cuda:N, opencl or opencl:N.") var device = "cpu"
    @Option(help: "Worker threads (CPU backend).") var threads: Int?
    @Flag(help: "Print JSON lines.") var json = false

    func run() throws {
        let job: Collective? = MPICollective.launched() ? try MPICollective() : nil
        let device = try BenchDevice.make(self.device, threads: threads)
        let ranks = job?.size ?? 1
        let rank = job?.rank ?? 0
        var nccl: NCCLCommunicator?
        if let cuda = device as? CUDADevice {
            let library = try NCCLCommunicator.open()
            let id = try job.map { try $0.allGather(rank == 0 ? try NCCLCommunicator.uniqueID() : [])[0] }
            nccl = try NCCLCommunicator(
                device: cuda, ranks: ranks, rank: rank, id: try id ?? NCCLCommunicator.uniqueID(), library: library)
        }
        guard job != nil || nccl != nil else {
            print("one process on \(device.name): nothing to exchange (run under mpirun -np N, or on a CUDA device)")
            return
        }
        for name in model.split(separator: ",").map(String.init) {
            let config = name == "11.8M" ? POYOConfig.poyo11_8M : POYOConfig.poyo1_3M
            let m = try POYOModel(
                config: config, unitVocab: try Vocabulary(words: (0..<1000).map { "u\($0)" }),
                sessionVocab: try Vocabulary(words: ["s0", "s1"]), device: device)
            try m.params.initialize(seed: 1)
            for p in m.params.all { device.fill(p.grad, Float(rank + 1)) }
            let stepper = TrainingStepper(
                model: m, optimizer: try LAMB(params: m.params),
                schedule: OneCycleSchedule(maxLR: 1e-3, totalSteps: 1, pctStart: 1), seeds: RunSeeds(root: 1),
                collective: job)
            stepper.gpuExchange = nccl
            var times: [Double] = []
            for r in 0..<(reps + 1) {
                try (device as? KernelDevice)?.synchronize()
                let t0 = DispatchTime.now().uptimeNanoseconds
                if let nccl, job == nil {
                    try nccl.sumInRankOrder(m.params.all.map(\.grad))
                } else {
                    try stepper.sumGradientsOverJob()
                }
                try (device as? KernelDevice)?.synchronize()
                if r > 0 { times.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6) }
            }
            times.sort()
            let median = times[times.count / 2]
            let bytes = Double(m.params.count * 4)
            let path = nccl.map { "NCCL \($0.ranks) rank(s)" } ?? "MPI, host"
            guard rank == 0 else { continue }
            if json {
                printJSON([
                    "kind": "gradient_exchange", "device": device.name, "model": name, "parameters": m.params.count,
                    "processes": ranks, "path": path, "ms": median, "min_ms": times[0],
                    "gradient_gb_per_s": bytes / (median / 1000) / 1e9,
                ])
            } else {
                print(
                    String(
                        format:
                            "%@  %@  %ld parameters  %ld process(es), %@: %.2f ms (min %.2f), %.2f GB/s of gradients",
                        device.name, name, m.params.count, ranks, path, median, times[0],
                        bytes / (median / 1000) / 1e9))
            }
        }
    }
}
