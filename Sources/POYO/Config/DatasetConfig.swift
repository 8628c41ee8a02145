import Foundation
import POYOData
import Yams

/// The `dataset:` section of a run config: the recordings to train on together (POYOData's
/// `DatasetSpec`). torch_brain-style keys; relative paths start at the config file's folder.
///
/// ```yaml
/// dataset:
///   - path: data/sub-Jenkins_ses-full_desc-train.nwb   # or a folder of .nwb / .h5 files
///     preset: nlb_maze            # torch_brain's class settings for what is left open: perich_co,
///                                 # perich_rt, nlb_maze, nlb_rtt, churchland, odoherty; auto (infer
///                                 # from the file, the default) or none (file attributes, else statistics)
///     format: nwb                 # nwb | brainsets; detected when absent
///     session: jenkins_maze       # session id override (default: general/session_id, else file name)
///     behaviour: hand_vel         # NWB series (hand_vel, finger_vel, cursor_vel) or brainsets group.column
///     normalize_mean: 0.0         # one value or one per dimension
///     normalize_std: 100.0        # or auto: the data's own standard deviation (mean 0)
///     weights:                    # interval set -> loss weight
///       movement_phases.reach_period: 5.0
///       movement_phases.hold_period: 0.1
///     eval_interval: nlb_eval_intervals   # interval set scored in validation, or "all"
///     split: auto                 # auto | file | nlb | trials | time, or {rule, ratios, valid_fraction, seed}
///     held_out: false
/// ```
/// torch_brain's nested form is accepted too: `config: {multitask_readout: [{normalize_mean,
/// normalize_std, weights, eval_interval}]}` (the first readout; keys at the entry's top level win).
public enum DatasetConfig {
    static let entryKeys: Set<String> = [
        "path", "format", "session", "session_id", "behaviour", "behavior",
        "normalize_mean", "normalize_std", "weights", "eval_interval", "split",
        "held_out", "config", "preset",
    ]

    /// Reads a YAML file whose top level is a mapping with `dataset:`, or the list itself.
    public static func load(_ path: String) throws -> DatasetSpec {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw POYOError.invalidConfig("\(path): cannot read the file")
        }
        let node: Any?
        do { node = try YAMLValues.load(text) } catch {
            throw POYOError.invalidConfig("\(path): not valid YAML (\(error))")
        }
        if let root = node as? [String: Any] {
            guard let list = root["dataset"] else { throw POYOError.invalidConfig("\(path): no 'dataset' list") }
            return try parse(list, configPath: path)
        }
        return try parse(node as Any, configPath: path)
    }

    /// Parses the value of a `dataset:` key (a list of entries) read from `configPath`.
    public static func parse(_ node: Any, configPath: String) throws -> DatasetSpec {
        let base = URL(fileURLWithPath: configPath).deletingLastPathComponent()
        guard let list = node as? [Any], !list.isEmpty else {
            throw POYOError.invalidConfig("\(configPath): 'dataset' must be a non-empty list of recordings")
        }
        let specs = try list.enumerated().map { i, item in try entry(item, at: "\(configPath): dataset[\(i)]") }
        return DatasetSpec(recordings: specs, baseDirectory: base)
    }

    static func entry(_ item: Any, at place: String) throws -> RecordingSpec {
        func bad(_ s: String) -> POYOError { .invalidConfig("\(place): \(s)") }
        if let path = item as? String { return RecordingSpec(path: path) }
        guard let m = item as? [String: Any] else { throw bad("each entry must be a path or a mapping") }
        for k in m.keys where !entryKeys.contains(k) {
            throw bad("unknown key '\(k)' (known: \(entryKeys.sorted().joined(separator: ", ")))")
        }
        guard let path = m["path"] as? String, !path.isEmpty else { throw bad("'path' (a string) is required") }
        var spec = RecordingSpec(path: path)
        if let f = m["format"] {
            guard let s = f as? String, s == "auto" || RecordingFormat(rawValue: s) != nil else {
                throw bad("'format' must be nwb, brainsets or auto")
            }
            spec.format = RecordingFormat(rawValue: s)
        }
        if let s = m["session"] ?? m["session_id"] {
            guard let id = s as? String, !id.isEmpty else { throw bad("'session' must be a string") }
            spec.session = id
        }
        if let b = m["behaviour"] ?? m["behavior"] {
            guard let s = b as? String else { throw bad("'behaviour' must be a string") }
            spec.behaviour = s
        }
        // torch_brain nests readout settings under config.multitask_readout[0].
        var readout: [String: Any] = [:]
        if let c = m["config"] {
            guard let cm = c as? [String: Any] else { throw bad("'config' must be a mapping") }
            if let r = cm["multitask_readout"] {
                guard let first = (r as? [Any])?.first as? [String: Any] else {
                    throw bad("'config.multitask_readout' must be a list of mappings")
                }
                readout = first
            }
        }
        func value(_ k: String) -> Any? { m[k] ?? readout[k] }
        if let p = m["preset"] {
            guard let name = p as? String, let choice = PresetChoice(name: name) else {
                throw bad("'preset' must be one of \(PresetChoice.names.joined(separator: ", "))")
            }
            spec.preset = choice
        }
        if let v = value("normalize_std") as? String, v == "auto" {
            guard value("normalize_mean") == nil || value("normalize_mean") as? String == "auto" else {
                throw bad("'normalize_std: auto' takes the mean 0 with it; leave 'normalize_mean' out")
            }
            spec.normalizeFromData = true
        } else if let v = value("normalize_mean") {
            spec.normalizeMean = try floats(v, "normalize_mean", bad)
        }
        if spec.normalizeFromData != true, let v = value("normalize_std") {
            spec.normalizeStd = try floats(v, "normalize_std", bad)
            guard spec.normalizeStd!.allSatisfy({ $0 > 0 }) else { throw bad("'normalize_std' must be positive") }
        }
        if let w = value("weights") {
            guard let wm = w as? [String: Any] else { throw bad("'weights' must map interval names to numbers") }
            spec.weights = try wm.mapValues { v in
                let x = try number(v, "weights", bad)
                guard x >= 0 else { throw bad("weights must be >= 0") }
                return Float(x)
            }
        }
        if let e = value("eval_interval") {
            guard let s = e as? String else { throw bad("'eval_interval' must be a string") }
            spec.evalInterval = s
        }
        if let s = m["split"] { spec.split = try split(s, bad) }
        if let h = m["held_out"] {
            guard let b = h as? Bool else { throw bad("'held_out' must be true or false") }
            spec.heldOut = b
        }
        return spec
    }

    static func split(_ node: Any, _ bad: (String) -> POYOError) throws -> SplitRule {
        var rule: String
        var fields: [String: Any] = [:]
        if let s = node as? String {
            rule = s
        } else if let m = node as? [String: Any], let r = m["rule"] as? String {
            rule = r
            fields = m
        } else {
            throw bad("'split' must be a rule name or a mapping with 'rule'")
        }
        let seed =
            try fields["seed"].map { v -> UInt64 in
                // Negative seeds read as 0, as before; what UInt64 cannot hold is an error, not a trap.
                let d = max(0, try number(v, "split.seed", bad))
                guard d < 0x1p63, d == d.rounded() else { throw bad("'split.seed' must be an integer below 2^63") }
                return UInt64(d)
            } ?? 42
        var ratios = [0.7, 0.1, 0.2]
        if let r = fields["ratios"] {
            guard let list = r as? [Any], list.count == 3 else {
                throw bad("'split.ratios' must be [train, valid, test]")
            }
            ratios = try list.map { try number($0, "split.ratios", bad) }
            guard ratios.allSatisfy({ $0 >= 0 }), abs(ratios.reduce(0, +) - 1) < 1e-6 else {
                throw bad("'split.ratios' must be non-negative and sum to 1")
            }
        }
        switch rule {
        case "auto": return .auto
        case "file": return .file
        case "nlb", "nwb", "split_column":
            let v = try fields["valid_fraction"].map { try number($0, "split.valid_fraction", bad) } ?? 0.2
            guard v >= 0 && v < 1 else { throw bad("'split.valid_fraction' must be in [0, 1)") }
            return .splitColumn(validFraction: v, seed: seed)
        case "trials": return .trials(train: ratios[0], valid: ratios[1], test: ratios[2], seed: seed)
        case "time": return .time(train: ratios[0], valid: ratios[1], test: ratios[2])
        default: throw bad("unknown split rule '\(rule)' (auto, file, nlb, trials, time)")
        }
    }

    static func number(_ v: Any, _ key: String, _ bad: (String) -> POYOError) throws -> Double {
        if let d = v as? Double, d.isFinite { return d }
        if let i = v as? Int { return Double(i) }
        if let s = v as? String, let d = Double(s), d.isFinite { return d }  // YAML 1.1 reads "1e-4" as a string
        throw bad("'\(key)' must be a number")
    }

    static func floats(_ v: Any, _ key: String, _ bad: (String) -> POYOError) throws -> [Float] {
        if let list = v as? [Any] {
            guard !list.isEmpty else { throw bad("'\(key)' must not be empty") }
            return try list.map { Float(try number($0, key, bad)) }
        }
        return [Float(try number(v, key, bad))]
    }
}
