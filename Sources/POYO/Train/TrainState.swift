import Compute
import Foundation

/// `train_state.safetensors`: everything a run needs to continue exactly, in one file (so it is
/// replaced in one atomic rename): the weights (`model.<name>`), the optimizer moments
/// (`<name>.exp_avg`, `<name>.exp_avg_sq`), and as JSON metadata (`train_state`) the step, the
/// optimizer's step count, the sampler position, the unit-dropout generator, the best validation,
/// the resolved config and the vocabularies. The payload checksum is verified on reading.
struct TrainState: Codable, Equatable {
    static let weightPrefix = "model."
    static let formatTag = "poyo-swift train state v1"

    var completedSteps: Int
    var totalSteps: Int
    var optimizerSteps: Int
    var epoch: Int
    var cursor: Int
    /// xoshiro256** words as decimal strings (JSON numbers would lose bits above 2^53).
    var unitDropoutRNG: [UInt64]
    var bestR2: Double?
    var bestStep: Int?
    var seconds: Double
    var device: String
    var configYAML: String
    var unitVocab: [String]
    var sessionVocab: [String]

    enum CodingKeys: String, CodingKey {
        case completedSteps = "completed_steps"
        case totalSteps = "total_steps"
        case optimizerSteps = "optimizer_steps"
        case epoch, cursor
        case unitDropoutRNG = "unit_dropout_rng"
        case bestR2 = "best_val_r2"
        case bestStep = "best_step"
        case seconds, device
        case configYAML = "config_yaml"
        case unitVocab = "unit_vocab"
        case sessionVocab = "session_vocab"
    }

    init(
        completedSteps: Int, totalSteps: Int, optimizerSteps: Int, epoch: Int, cursor: Int, unitDropoutRNG: [UInt64],
        bestR2: Double?, bestStep: Int?, seconds: Double, device: String, configYAML: String, unitVocab: [String],
        sessionVocab: [String]
    ) {
        self.completedSteps = completedSteps
        self.totalSteps = totalSteps
        self.optimizerSteps = optimizerSteps
        self.epoch = epoch
        self.cursor = cursor
        self.unitDropoutRNG = unitDropoutRNG
        self.bestR2 = bestR2
        self.bestStep = bestStep
        self.seconds = seconds
        self.device = device
        self.configYAML = configYAML
        self.unitVocab = unitVocab
        self.sessionVocab = sessionVocab
    }

    init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        completedSteps = try c.decode(Int.self, forKey: .completedSteps)
        totalSteps = try c.decode(Int.self, forKey: .totalSteps)
        optimizerSteps = try c.decode(Int.self, forKey: .optimizerSteps)
        epoch = try c.decode(Int.self, forKey: .epoch)
        cursor = try c.decode(Int.self, forKey: .cursor)
        let words = try c.decode([String].self, forKey: .unitDropoutRNG)
        unitDropoutRNG = try words.map { w in
            guard let v = UInt64(w) else {
                throw DecodingError.dataCorruptedError(forKey: .unitDropoutRNG, in: c, debugDescription: "not a UInt64")
            }
            return v
        }
        bestR2 = try c.decodeIfPresent(Double.self, forKey: .bestR2)
        bestStep = try c.decodeIfPresent(Int.self, forKey: .bestStep)
        seconds = try c.decode(Double.self, forKey: .seconds)
        device = try c.decode(String.self, forKey: .device)
        configYAML = try c.decode(String.self, forKey: .configYAML)
        unitVocab = try c.decode([String].self, forKey: .unitVocab)
        sessionVocab = try c.decode([String].self, forKey: .sessionVocab)
    }

    func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(completedSteps, forKey: .completedSteps)
        try c.encode(totalSteps, forKey: .totalSteps)
        try c.encode(optimizerSteps, forKey: .optimizerSteps)
        try c.encode(epoch, forKey: .epoch)
        try c.encode(cursor, forKey: .cursor)
        try c.encode(unitDropoutRNG.map { String($0) }, forKey: .unitDropoutRNG)
        try c.encodeIfPresent(bestR2, forKey: .bestR2)
        try c.encodeIfPresent(bestStep, forKey: .bestStep)
        try c.encode(seconds, forKey: .seconds)
        try c.encode(device, forKey: .device)
        try c.encode(configYAML, forKey: .configYAML)
        try c.encode(unitVocab, forKey: .unitVocab)
        try c.encode(sessionVocab, forKey: .sessionVocab)
    }

    func write(to path: String, model: POYOModel, optimizer: Optimizer, host: [[Float]]? = nil) throws {
        var w = SafeTensorsWriter()
        try model.params.save(into: &w, prefix: Self.weightPrefix, host: host)
        for (name, tensor) in optimizer.state.sorted(by: { $0.key < $1.key }) {
            w.add(name, floats: try model.device.download(tensor), shape: tensor.shape)
        }
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        w.metadata["format"] = Self.formatTag
        w.metadata["train_state"] = String(decoding: try enc.encode(self), as: UTF8.self)
        try w.write(to: path)
    }

    /// Reads and checks a state file: a missing, truncated or altered file is an error naming it.
    static func read(_ path: String) throws -> (TrainState, SafeTensorsFile) {
        let file = try SafeTensorsFile(path: path)
        guard file.metadata["format"] == formatTag, file.hasChecksum, let json = file.metadata["train_state"] else {
            throw POYOError.checkpoint(
                path: path, reason: "not a poyo-swift train state (\(formatTag) with a checksum)")
        }
        do {
            return (try JSONDecoder().decode(TrainState.self, from: Data(json.utf8)), file)
        } catch {
            throw POYOError.checkpoint(path: path, reason: "unreadable train_state metadata (\(error))")
        }
    }
}
