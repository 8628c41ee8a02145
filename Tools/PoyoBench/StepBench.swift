import ArgumentParser
import Compute
import DataParallel
import Foundation
import POYO
import POYOData

struct Step: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Time full training steps.")

    @Option(help: "Model config: 1.3M or 11.8M.") var model = "1.3M"
    @Option(help: "Comma-separated batch sizes.") var batch = "8,32"
    @Option(help: "Units per window.") var units = 100
    @Option(help: "Spikes per window.") var spikes = 2000
    @Option(help: "Timed steps per batch size.") var steps = 5
    @Option(help: "Worker threads (CPU backend).") var threads: Int?
    @Option(help: "Device: cpu, cuda, cuda:N, opencl or opencl:N.") var device = "cpu"
    @Flag(help: "Print JSON lines.") var json = false

    func run() throws {
        // Under `mpirun -np N`: each process runs its 1/N of every batch (one micro-batch), and the
        // gradients are exchanged as in training; rank 0 prints.
        let job: Collective? = MPICollective.launched() ? try MPICollective() : nil
        let ranks = job?.size ?? 1
        let rank = job?.rank ?? 0
        let config = model == "11.8M" ? POYOConfig.poyo11_8M : POYOConfig.poyo1_3M
        let device = try BenchDevice.make(self.device, threads: threads)
        let unitVocab = try Vocabulary(words: (0..<1000).map { "u\($0)" })
        let sessionVocab = try Vocabulary(words: ["s0", "s1"])
        let m = try POYOModel(config: config, unitVocab: unitVocab, sessionVocab: sessionVocab, device: device)
        try m.params.initialize(seed: 1)
        let opt = try LAMB(params: m.params)
        // The training step itself (`TrainingStepper`, as `TrainingSession.step()` runs it), on a
        // fixed batch per size, under a flat 1e-3 schedule: sampling and tokenising are not timed.
        let stepper = TrainingStepper(
            model: m, optimizer: opt, schedule: OneCycleSchedule(maxLR: 1e-3, totalSteps: 1, pctStart: 1),
            seeds: RunSeeds(root: 1), collective: job)
        for b in batch.split(separator: ",").compactMap({ Int($0) }) {
            let windows = (rank + 1) * b / ranks - rank * b / ranks
            let batch = SyntheticBatch.make(
                config: config, windows: windows, units: units, spikesPerWindow: spikes,
                outputsPerWindow: 100, unitVocabSize: unitVocab.count,
                sessionVocabSize: sessionVocab.count, seed: 7 + UInt64(rank))
            let parts = StepParts(batches: [batch], first: rank, total: ranks)
            var times: [Double] = []
            for s in 0..<(steps + 1) {
                let t0 = DispatchTime.now().uptimeNanoseconds
                _ = try stepper.step(parts, index: s)
                let dt = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6
                if s > 0 { times.append(dt) }  // first step warms up
            }
            times.sort()
            let median = times[times.count / 2]
            let tokens = Double(batch.inputCount * ranks) / (median / 1000)
            guard rank == 0 else { continue }
            if json {
                let obj: [String: Any] = [
                    "device": device.name, "model": model, "batch": b, "ms_per_step": median, "min_ms": times[0],
                    "input_tokens_per_s": Int(tokens), "processes": ranks,
                ]
                printJSON(obj)
            } else {
                print(
                    String(
                        format: "%@  %@  batch %3d  %ld process(es)  %8.1f ms/step (min %.1f)  %9.0f input tok/s",
                        device.name, model, b, ranks, median, times[0], tokens))
            }
        }
    }
}
