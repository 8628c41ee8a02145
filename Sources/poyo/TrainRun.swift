import Compute
import Foundation
import POYO
import POYOData

/// One `poyo train` run: load data, build the model, train, validate, write outputs.
struct TrainRun {
    let config: ConfigFile
    let device: Device
    let source: Source
    let outDir: URL

    enum Source {
        case directory(URL)
        case spec(DatasetSpec)

        var description: String {
            switch self {
            case .directory(let u): return u.path
            case .spec(let s): return s.recordings.map(\.path).joined(separator: ", ")
            }
        }

        func load() throws -> Dataset {
            switch self {
            case .directory(let u): return try Dataset.load(directory: u)
            case .spec(let s): return try s.load()
            }
        }
    }

    func run() throws {
        let all = try source.load()
        for w in all.warnings { note(w.description) }
        let held = all.heldOutIndices.map { all.recordings[$0].sessionID }
        let data = held.count < all.recordings.count ? try all.subset(heldOut: false) : all
        if !held.isEmpty { note("data: \(held.joined(separator: ", ")) held out (new animal), not trained on") }
        note("data: \(data.recordings.count) sessions, \(data.unitVocabulary.count - 1) units from \(source.description)")

        let model = try POYOModel(config: config.model, unitVocab: data.unitVocabulary, sessionVocab: data.sessionVocabulary, device: device)
        try model.params.initialize(seed: config.train.seed)
        let trainer = try Trainer(model: model, recordings: data.recordings, options: config.train)
        let resolved: [String: Any] = ["model": (try? JSONSerialization.jsonObject(with: Data(config.model.jsonString().utf8))) ?? [:],
                                       "train": config.train.json]
        let resolvedJSON = String(decoding: try JSONSerialization.data(withJSONObject: resolved, options: [.sortedKeys]), as: UTF8.self)
        note("config: \(resolvedJSON)")
        note("model: \(model.params.count) parameters on \(device.name); seed \(config.train.seed)")

        let outputs = try RunOutputs(directory: outDir)
        let progress = ProgressPrinter(totalSteps: config.train.steps)
        let t0 = Date()
        var lastValidation: EvaluationResult?
        for step in 0..<config.train.steps {
            let r = try trainer.step(step)
            progress.report(r)
            var val: Double?
            let isLast = step + 1 == config.train.steps
            if isLast || (config.train.evalEvery > 0 && (step + 1) % config.train.evalEvery == 0) {
                let v = try trainer.validate()
                lastValidation = v
                val = v.mean
                progress.message(String(format: "validation at step %d: R² %.4f over %d sessions (%.1f s)", step + 1, v.mean, v.r2.count, v.seconds))
            }
            outputs.log(r, valR2: val)
        }
        let seconds = Date().timeIntervalSince(t0)
        guard let v = lastValidation else { return }
        try Checkpoint.save(model, to: outputs.checkpointPath, extra: ["train": resolvedJSON, "steps": "\(config.train.steps)",
                                                                      "val_r2_mean": String(v.mean)])
        try outputs.writeSummary([
            "val_r2_mean": v.mean, "val_r2": v.r2, "steps": config.train.steps, "seconds": seconds,
            "device": device.name, "seed": config.train.seed, "parameters": model.params.count,
            "data": source.description, "checkpoint": outputs.checkpointPath,
        ])
        print("validation R² per session:")
        for (s, r2) in v.r2.sorted(by: { $0.key < $1.key }) { print(String(format: "  %@  %.4f", s, r2)) }
        print(String(format: "mean R² %.4f after %d steps in %@; outputs in %@", v.mean, config.train.steps,
                     ProgressPrinter.duration(seconds), outDir.path))
    }
}
