import Foundation
import POYOData

extension ConfigFile {
    /// The resolved config as YAML in torch_brain's key names: what a run folder's `config.yaml`
    /// holds, and what `poyo train --config` reads back to an equal `ConfigFile`. Paths are absolute.
    public func yaml() -> String {
        var out = ["# poyo-swift run config (resolved): poyo train --config accepts it as is", "model:"]
        for f in model.typedFields { out.append("  \(f.key): \(f.value)") }
        out.append("batch_size: \(train.batchSize)")
        if train.gradAccum != 1 { out.append("grad_accum: \(train.gradAccum)") }
        out.append("steps: \(train.steps)")
        out.append("seed: \(train.seed)")
        out.append("eval_every: \(train.evalEvery)")
        if let c = train.checkpointEvery { out.append("checkpoint_every: \(c)") }
        switch train.fewShot {
        case .trials(let n)?: out.append("train_trials: \(n)")
        case .fraction(let x)?: out.append("train_fraction: \(Self.real(x))")
        case nil: break
        }
        if let s = shortIntervals { out.append("short_intervals: \(s.rawValue)") }
        out.append("eval_batch_size: \(train.evalBatchSize)")
        if let n = train.evalSessions { out.append("eval_sessions: \(n)") }
        out.append("optimizer: \(train.optimizer.rawValue)")
        out.append("optim:")
        out.append("  base_lr: \(Self.real(train.baseLR))")
        if let lr = train.maxLROverride { out.append("  lr: \(Self.real(lr))") }
        out.append("  weight_decay: \(Self.real(train.weightDecay))")
        out.append("  lr_decay_start: \(Self.real(train.lrDecayStart))")
        if let u = train.unitDropout {
            out.append("train_transforms:")
            out.append("  - _target_: torch_brain.transforms.UnitDropout")
            out.append("    min_units: \(u.minUnits)")
            out.append("    mode_units: \(u.modeUnits)")
            out.append("    max_units: \(u.maxUnits)")
            out.append("    peak: \(Self.real(u.peak))")
        } else {
            out.append("train_transforms: []")
        }
        if let f = finetune {
            out.append("finetune:")
            out.append("  checkpoint: \(Self.quoted(f.checkpoint))")
            out.append("  mode: \(f.mode.rawValue)")
            if let u = f.unitIDSteps { out.append("  unit_id_steps: \(u)") }
            if let u = f.pretrainedUnits { out.append("  pretrained_units: \(u)") }
            if let s = f.pretrainedSessions { out.append("  pretrained_sessions: \(s)") }
        }
        if let dataRoot { out.append("data_root: \(Self.quoted(dataRoot))") }
        if let dataset { out += Self.yamlLines(dataset) }
        return out.joined(separator: "\n") + "\n"
    }

    static func yamlLines(_ spec: DatasetSpec) -> [String] {
        var out = ["dataset:"]
        for r in spec.recordings {
            let path = spec.baseDirectory == nil ? r.path : resolvePath(r.path, relativeTo: spec.baseDirectory).path
            out.append("  - path: \(quoted(path))")
            if let f = r.format { out.append("    format: \(f.rawValue)") }
            if let s = r.session { out.append("    session: \(quoted(s))") }
            if let p = r.preset { out.append("    preset: \(presetName(p))") }
            if let b = r.behaviour { out.append("    behaviour: \(quoted(b))") }
            if r.normalizeFromData == true { out.append("    normalize_std: auto") }
            if let m = r.normalizeMean {
                out.append("    normalize_mean: [\(m.map { real($0) }.joined(separator: ", "))]")
            }
            if let s = r.normalizeStd {
                out.append("    normalize_std: [\(s.map { real($0) }.joined(separator: ", "))]")
            }
            if let w = r.weights {
                out.append("    weights:")
                for (k, v) in w.sorted(by: { $0.key < $1.key }) { out.append("      \(quoted(k)): \(real(v))") }
            }
            if let e = r.evalInterval { out.append("    eval_interval: \(quoted(e))") }
            if let s = r.split { out.append("    split: \(splitYAML(s))") }
            if let h = r.heldOut { out.append("    held_out: \(h)") }
        }
        return out
    }

    static func presetName(_ p: PresetChoice) -> String {
        switch p {
        case .infer: return "auto"
        case .none: return "none"
        case .preset(let d): return d.rawValue
        }
    }

    static func splitYAML(_ s: SplitRule) -> String {
        switch s {
        case .auto: return "auto"
        case .file: return "file"
        case .splitColumn(let v, let seed): return "{rule: nlb, valid_fraction: \(real(v)), seed: \(seed)}"
        case .trials(let a, let b, let c, let seed):
            return "{rule: trials, ratios: [\(real(a)), \(real(b)), \(real(c))], seed: \(seed)}"
        case .time(let a, let b, let c): return "{rule: time, ratios: [\(real(a)), \(real(b)), \(real(c))]}"
        }
    }

    static func real<T: BinaryFloatingPoint & CustomStringConvertible>(_ x: T) -> String { realLiteral(x) }

    /// A YAML double-quoted string (escapes backslashes and quotes).
    static func quoted(_ s: String) -> String {
        "\"" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }
}
