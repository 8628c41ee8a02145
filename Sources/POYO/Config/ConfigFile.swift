import Foundation
import POYOData
import Yams

/// A YAML run config with torch_brain's key names: model keys at the top level or under `model:`,
/// and training keys `batch_size`, `steps`, `seed`, `optim: {base_lr, weight_decay, lr_decay_start}`,
/// `eval_every`, `eval_batch_size`, `optimizer`, `train_transforms` (a `UnitDropout` entry),
/// `short_intervals` (`around` or `skip`, see `ShortIntervals`) and `dataset` (a list of recordings,
/// see `DatasetConfig`) or `data_root` (a folder of recordings; relative to the config file). `yaml()`
/// writes a config this parser reads back unchanged (a run's `config.yaml`).
public struct ConfigFile: Equatable {
    public var model: POYOConfig
    public var train: TrainOptions
    /// The recordings to train on (`dataset:`), when the config lists them.
    public var dataset: DatasetSpec?
    /// A folder of recordings (`data_root:`), when the config names one instead of a list.
    public var dataRoot: String?
    /// A fine-tuning run (`finetune:`): the pretrained checkpoint and what trains.
    public var finetune: FinetuneSpec?
    /// `short_intervals:` as given; nil: not given (`around`, or a checkpoint's rule for `poyo eval`).
    /// A run resolves it, so its `config.yaml` and checkpoints always record the rule it used.
    public var shortIntervals: ShortIntervals?
    /// Whether the file named any model key (a fine-tuning run otherwise takes the checkpoint's model).
    public var modelGiven = false

    /// The rule in force: the one given, else `around`.
    public var shortIntervalRule: ShortIntervals { shortIntervals ?? .around }

    public init(model: POYOConfig = .poyo1_3M, train: TrainOptions = TrainOptions()) {
        self.model = model
        self.train = train
    }

    /// Reads the config at `path`; training keys it does not give keep `trainDefaults` (a command's
    /// own defaults, e.g. `poyo finetune`'s).
    public static func load(_ path: String, trainDefaults: TrainOptions = TrainOptions()) throws -> ConfigFile {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw POYOError.invalidConfig("\(path): cannot read the file")
        }
        return try parse(yaml: text, path: path, trainDefaults: trainDefaults)
    }

    /// Parses YAML `text` read from `path` (which names it in errors and anchors relative paths).
    public static func parse(yaml text: String, path: String, trainDefaults: TrainOptions = TrainOptions()) throws
        -> ConfigFile
    {
        let node: Any?
        do { node = try YAMLValues.load(text) } catch {
            throw POYOError.invalidConfig("\(path): not valid YAML (\(error))")
        }
        guard let root = node as? [String: Any] else {
            throw POYOError.invalidConfig("\(path): top level must be a mapping")
        }
        return try parse(root, path: path, trainDefaults: trainDefaults)
    }

    static let modelKeys: Set<String> = [
        "dim", "depth", "dim_head", "cross_heads", "self_heads", "num_latents_per_step",
        "latent_step", "sequence_length", "dim_out", "t_min", "t_max", "emb_init_scale",
        "ffn_dropout", "lin_dropout", "atn_dropout",
    ]
    static let ignoredKeys: Set<String> = [
        "_target_", "log_dir", "wandb", "precision", "nodes", "gpus", "num_workers", "ckpt_path", "eval_transform",
        "eval_transforms", "sanity_check_validation",
    ]

    /// The built-in model configs a `defaults:` list may name.
    public static let builtInModels: [String: POYOConfig] = ["poyo_1.3M": .poyo1_3M, "poyo_11.8M": .poyo11_8M]

    /// The model a hydra `defaults:` list chooses (`- model: poyo_1.3M`, `.yaml` allowed); `_self_`
    /// is fine; any other entry would be silently dropped here, so it is an error.
    static func defaultModel(_ node: Any?, _ bad: (String) -> POYOError) throws -> POYOConfig? {
        guard let node else { return nil }
        guard let list = node as? [Any] else { throw bad("'defaults' must be a list") }
        var model: POYOConfig?
        for item in list {
            if let s = item as? String, s == "_self_" { continue }
            guard let m = item as? [String: Any], m.count == 1, let (key, value) = m.first else {
                throw bad("'defaults' entries must be '_self_' or '{model: NAME}', got \(item)")
            }
            guard key == "model" else {
                throw bad("'defaults' entry '\(key)' cannot be resolved here; give the recordings under 'dataset:'")
            }
            let name = ((value as? String) ?? "").replacingOccurrences(of: ".yaml", with: "")
            guard let c = builtInModels[name] else {
                let known = builtInModels.keys.sorted().joined(separator: ", ")
                throw bad("unknown model '\(name)' in 'defaults' (built in: \(known))")
            }
            model = c
        }
        return model
    }

    static func parse(_ root: [String: Any], path: String, trainDefaults: TrainOptions) throws -> ConfigFile {
        let r = ConfigReader(path: path)
        var cfg = ConfigFile(train: trainDefaults)
        (cfg.model, cfg.modelGiven) = try r.model(root)
        for (k, v) in root where !modelKeys.contains(k) && k != "model" {
            switch k {
            case "dataset": cfg.dataset = try DatasetConfig.parse(v, configPath: path)
            case "data_root":
                guard let d = v as? String, !d.isEmpty else { throw r.bad("'data_root' must be a folder path") }
                cfg.dataRoot = r.resolve(d)
            case "batch_size": cfg.train.batchSize = try r.integer(v, k)
            case "grad_accum": cfg.train.gradAccum = try r.integer(v, k)
            case "steps": cfg.train.steps = try r.integer(v, k)
            case "seed":
                let seed = try r.integer(v, k)
                guard seed >= 0 else { throw r.bad("'seed' must be a non-negative integer, found \(seed)") }
                cfg.train.seed = UInt64(seed)
            case "eval_every": cfg.train.evalEvery = try r.integer(v, k)
            case "checkpoint_every": cfg.train.checkpointEvery = try r.integer(v, k)
            case "train_trials":
                guard root["train_fraction"] == nil else {
                    throw r.bad("give train_trials or train_fraction, not both")
                }
                cfg.train.fewShot = .trials(try r.integer(v, k))
            case "train_fraction": cfg.train.fewShot = .fraction(try r.number(v, k))
            case "finetune": cfg.finetune = try r.finetune(v)
            case "eval_batch_size": if !(v is NSNull) { cfg.train.evalBatchSize = try r.integer(v, k) }
            case "eval_sessions": if !(v is NSNull) { cfg.train.evalSessions = try r.integer(v, k) }
            case "optimizer":
                guard let s = v as? String, let o = TrainOptions.OptimizerKind(rawValue: s.lowercased()) else {
                    throw r.bad("'optimizer' must be lamb or adamw")
                }
                cfg.train.optimizer = o
            case "optim": try r.optim(v, into: &cfg.train)
            case "short_intervals":
                guard let rule = ShortIntervals(configValue: v) else {
                    throw r.bad("'short_intervals' must be around or skip")
                }
                cfg.shortIntervals = rule
            case "defaults": break  // resolved with the model
            case "epochs":
                guard root["steps"] == nil else { throw r.bad("give steps or epochs, not both") }
                cfg.train.epochs = try r.integer(v, k)
            case "eval_epochs":
                guard root["eval_every"] == nil else { throw r.bad("give eval_every or eval_epochs, not both") }
                cfg.train.evalEpochs = try r.integer(v, k)
            case "train_transforms", "train_transform":
                guard root["train_transforms"] == nil || root["train_transform"] == nil else {
                    throw r.bad("give train_transform or train_transforms, not both")
                }
                cfg.train.unitDropout = try r.unitDropout(v, key: k)
            default:
                guard ignoredKeys.contains(k) else { throw r.bad("unknown key '\(k)'") }
            }
        }
        try cfg.model.validate()
        try cfg.train.validate()
        return cfg
    }
}

/// Reads the sections of one config file: errors name the file and key, relative paths start at
/// the file's folder.
struct ConfigReader {
    let path: String

    func bad(_ s: String) -> POYOError { .invalidConfig("\(path): \(s)") }

    func number(_ v: Any, _ key: String) throws -> Double { try DatasetConfig.number(v, key, bad) }

    func integer(_ v: Any, _ key: String) throws -> Int {
        let d = try number(v, key)
        guard d == d.rounded(), abs(d) < 1e12 else { throw bad("'\(key)' must be an integer") }
        return Int(d)
    }

    /// A path of the config, absolute.
    func resolve(_ p: String) -> String {
        resolvePath(p, relativeTo: URL(fileURLWithPath: path).deletingLastPathComponent()).path
    }

    /// The model: a built-in one a hydra `defaults:` list names, overridden by model keys at the top
    /// level or under `model:`; and whether the file gave any of them.
    func model(_ root: [String: Any]) throws -> (POYOConfig, given: Bool) {
        var keys: [String: Any] = [:]
        if let m = root["model"] {
            guard let md = m as? [String: Any] else { throw bad("'model' must be a mapping") }
            keys = md
        }
        for (k, v) in root where ConfigFile.modelKeys.contains(k) { keys[k] = v }
        let base = try ConfigFile.defaultModel(root["defaults"], bad)
        // Normalise numbers, then decode through POYOConfig's Codable (unknown keys are rejected).
        var clean: [String: Any] = [:]
        if let base,
            let fields = try? JSONSerialization.jsonObject(with: Data(base.jsonString().utf8)) as? [String: Any]
        {
            clean = fields
        }
        for (k, v) in keys where k != "_target_" {
            guard ConfigFile.modelKeys.contains(k) else { throw bad("unknown model key '\(k)'") }
            clean[k] = try number(v, k)
        }
        let data = try JSONSerialization.data(withJSONObject: clean)
        do {
            return (try JSONDecoder().decode(POYOConfig.self, from: data), !keys.isEmpty || base != nil)
        } catch {
            throw bad("model section: \(error)")
        }
    }

    /// `finetune: {checkpoint, mode, unit_id_steps}` (and the vocabulary sizes a run records).
    func finetune(_ v: Any) throws -> FinetuneSpec {
        guard let m = v as? [String: Any] else { throw bad("'finetune' must be a mapping") }
        guard let c = m["checkpoint"] as? String, !c.isEmpty else { throw bad("'finetune.checkpoint' is required") }
        guard let mode = FinetuneMode(rawValue: m["mode"] as? String ?? "unit-id") else {
            throw bad("'finetune.mode' must be unit-id or full")
        }
        var spec = FinetuneSpec(checkpoint: resolve(c), mode: mode)
        for (fk, fv) in m {
            switch fk {
            case "checkpoint", "mode": break
            case "unit_id_steps": spec.unitIDSteps = try integer(fv, "finetune.unit_id_steps")
            case "pretrained_units": spec.pretrainedUnits = try integer(fv, "finetune.pretrained_units")
            case "pretrained_sessions": spec.pretrainedSessions = try integer(fv, "finetune.pretrained_sessions")
            default: throw bad("unknown key 'finetune.\(fk)'")
            }
        }
        if let u = spec.unitIDSteps, u < 0 { throw bad("'finetune.unit_id_steps' must be >= 0") }
        return spec
    }

    /// `optim: {base_lr, lr, weight_decay, lr_decay_start}`.
    func optim(_ v: Any, into train: inout TrainOptions) throws {
        guard let o = v as? [String: Any] else { throw bad("'optim' must be a mapping") }
        for (ok, ov) in o {
            switch ok {
            case "base_lr":
                train.baseLR = try number(ov, "optim.base_lr")
                // A base LR given without a peak LR means base_lr × batch_size, as torch_brain.
                if o["lr"] == nil { train.maxLROverride = nil }
            case "lr": train.maxLROverride = try number(ov, "optim.lr")
            case "weight_decay": train.weightDecay = try number(ov, "optim.weight_decay")
            case "lr_decay_start": train.lrDecayStart = try number(ov, "optim.lr_decay_start")
            default: throw bad("unknown key 'optim.\(ok)'")
            }
        }
    }

    /// `train_transform:` (one transform or a Compose of several, torch_brain's current form) or
    /// `train_transforms:` (a list, the older form); only UnitDropout is supported. Nil: none.
    func unitDropout(_ v: Any, key: String) throws -> UnitDropout? {
        var items: Any = v
        if let m = v as? [String: Any] {
            let target = (m["_target_"] as? String) ?? ""
            items = target.hasSuffix("Compose") ? (m["transforms"] ?? []) : [m]
        }
        guard let list = items as? [Any] else { throw bad("'\(key)' must be a transform, a Compose or a list") }
        var dropout: UnitDropout?
        for item in list {
            guard let t = item as? [String: Any] else { throw bad("each train transform must be a mapping") }
            let target = (t["_target_"] as? String) ?? ""
            guard target.hasSuffix("UnitDropout") else {
                throw bad("unsupported transform '\(target)' (only UnitDropout)")
            }
            let u = UnitDropout(
                minUnits: try integer(t["min_units"] ?? 20, "min_units"),
                modeUnits: try integer(t["mode_units"] ?? 100, "mode_units"),
                maxUnits: try integer(t["max_units"] ?? 300, "max_units"),
                peak: try number(t["peak"] ?? 4, "peak"))
            guard u.minUnits >= 1, u.minUnits <= u.modeUnits, u.modeUnits <= u.maxUnits, u.peak >= 1 else {
                throw bad("UnitDropout needs 1 <= min_units <= mode_units <= max_units and peak >= 1")
            }
            dropout = u
        }
        return dropout
    }
}
