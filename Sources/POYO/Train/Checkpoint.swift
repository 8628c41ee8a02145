import Compute
import Foundation
import POYOData
import Yams

/// A `.safetensors` checkpoint: parameters under torch_brain's `state_dict` names, the rotary
/// buffer, and metadata holding the resolved config and both vocabularies (as the golden files do),
/// so any PyTorch user can load the weights and `poyo eval` can rebuild the model.
public enum Checkpoint {
    public static let formatVersion = "1"

    /// Writes atomically (temp file + rename).
    /// `host`: the parameters already read back (`ParameterSet.hostValues()`), to share one read.
    public static func save(
        _ model: POYOModel, to path: String, extra: [String: String] = [:], host: [[Float]]? = nil
    ) throws {
        var w = SafeTensorsWriter()
        try model.params.save(into: &w, host: host)
        var omega = model.omega
        omega += [Float](repeating: 0, count: model.config.dimHead / 2 - omega.count)
        w.add("rotary_emb.omega", floats: omega, shape: [omega.count])
        w.metadata = extra
        w.metadata["format"] = "poyo-swift checkpoint v\(formatVersion)"
        w.metadata["config"] = model.config.jsonString()
        w.metadata["unit_vocab"] = jsonList(model.unitVocab.words)
        w.metadata["session_vocab"] = jsonList(model.sessionVocab.words)
        try w.write(to: path)
    }

    /// A checkpoint file, or a run folder (its `checkpoint.safetensors`).
    public static func resolve(_ path: String) -> String {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else {
            return path
        }
        return URL(fileURLWithPath: path).appendingPathComponent("checkpoint.safetensors").path
    }

    /// The model config stored in a checkpoint (reads the file, checks its checksum).
    public static func config(of path: String) throws -> POYOConfig {
        let path = resolve(path)
        return try decodeConfig(try SafeTensorsFile(path: path).metadata, path: path)
    }

    /// The `config` metadata of a checkpoint as a `POYOConfig`; errors name the file.
    static func decodeConfig(_ meta: [String: String], path: String) throws -> POYOConfig {
        guard let cfg = meta["config"] else {
            throw POYOError.checkpoint(path: path, reason: "metadata lacks 'config' (not a POYO checkpoint?)")
        }
        let config: POYOConfig
        do {
            config = try JSONDecoder().decode(POYOConfig.self, from: Data(cfg.utf8))
        } catch {
            throw POYOError.checkpoint(path: path, reason: "unreadable 'config' metadata (\(error))")
        }
        // Checked here, so that a bad stored config is reported as the checkpoint's.
        do {
            try config.validate()
        } catch let POYOError.invalidConfig(reason) {
            throw POYOError.checkpoint(path: path, reason: "its stored config is invalid: \(reason)")
        }
        return config
    }

    /// Rebuilds a model from a checkpoint on `device`.
    public static func load(_ path: String, device: Device) throws -> (model: POYOModel, metadata: [String: String]) {
        let path = resolve(path)
        let file = try SafeTensorsFile(path: path)
        let meta = file.metadata
        let config = try decodeConfig(meta, path: path)
        guard let uv = meta["unit_vocab"], let sv = meta["session_vocab"] else {
            throw POYOError.checkpoint(
                path: path, reason: "metadata lacks 'unit_vocab' or 'session_vocab' (not a POYO checkpoint?)")
        }
        let units: [String]
        let sessions: [String]
        do {
            units = try JSONDecoder().decode([String].self, from: Data(uv.utf8))
            sessions = try JSONDecoder().decode([String].self, from: Data(sv.utf8))
        } catch {
            throw POYOError.checkpoint(path: path, reason: "unreadable metadata (\(error))")
        }
        let omega =
            file.entries["rotary_emb.omega"] != nil
            ? Array(try file.floats("rotary_emb.omega").prefix(config.dimHead / 4)) : nil
        try MemoryBudget.check(
            config, unitVocabSize: units.count, sessionVocabSize: sessions.count, training: false, source: path)
        let model = try POYOModel(
            config: config, unitVocab: try Vocabulary(storedWords: units),
            sessionVocab: try Vocabulary(storedWords: sessions), device: device, omega: omega)
        try model.params.load(from: file)
        return (model, meta)
    }

    /// Metadata key of the settings each session was read with (`RecordingSettings` by session id).
    public static let dataSettingsKey = "data_settings"

    /// The data settings a checkpoint carries, by session id; `nil` for a checkpoint written
    /// before they were stored.
    public static func dataSettings(_ meta: [String: String], path: String) throws -> [String: RecordingSettings]? {
        guard let json = meta[dataSettingsKey] else { return nil }
        do {
            return try JSONDecoder().decode([String: RecordingSettings].self, from: Data(json.utf8))
        } catch {
            throw POYOError.checkpoint(path: path, reason: "unreadable '\(dataSettingsKey)' metadata (\(error))")
        }
    }

    /// `dataSettings` of a checkpoint file or run folder (its header only: the weights are not read).
    public static func dataSettings(of path: String) throws -> [String: RecordingSettings]? {
        let path = resolve(path)
        return try dataSettings(try SafeTensorsFile.metadata(atPath: path), path: path)
    }

    /// Metadata key of the run config (`ConfigFile.yaml()`) a checkpoint was trained with.
    static let runConfigKey = "train"

    /// The `short_intervals` rule a checkpoint was trained with (from its run config); nil for a
    /// checkpoint written before the key existed or without a run config (then `around` applied).
    public static func shortIntervals(_ meta: [String: String], path: String) throws -> ShortIntervals? {
        guard let yaml = meta[runConfigKey] else { return nil }
        // Only this key is read: the rest of the run config (paths, the fine-tuning source) need not
        // be valid where the checkpoint is scored.
        let root: Any?
        do { root = try YAMLValues.load(yaml) } catch {
            throw POYOError.checkpoint(path: path, reason: "unreadable '\(runConfigKey)' metadata (\(error))")
        }
        guard let value = (root as? [String: Any])?["short_intervals"] else { return nil }
        guard let rule = ShortIntervals(configValue: value) else {
            throw POYOError.checkpoint(
                path: path, reason: "run config has short_intervals '\(value)', not around or skip")
        }
        return rule
    }

    /// `shortIntervals` of a checkpoint file or run folder (its header only).
    public static func shortIntervals(of path: String) throws -> ShortIntervals? {
        let path = resolve(path)
        return try shortIntervals(try SafeTensorsFile.metadata(atPath: path), path: path)
    }

    static func encodeDataSettings(_ settings: [String: RecordingSettings]) -> String {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        return (try? enc.encode(settings)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }

    static func jsonList(_ words: [String]) -> String {
        let data = (try? JSONSerialization.data(withJSONObject: words)) ?? Data("[]".utf8)
        return String(decoding: data, as: UTF8.self)
    }
}
