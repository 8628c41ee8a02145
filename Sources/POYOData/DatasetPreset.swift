import Foundation

/// torch_brain's POYO dataset classes as reader settings (`preset:` in a dataset entry): which
/// behaviour is decoded, its normalisation, the loss weight of each interval set and the interval
/// scored in validation. The values are torch_brain's (neuro-galaxy/torch_brain @ 0512ee0,
/// `examples/poyo/datasets/`): `poyo_mp.py` (`PoyoMPDataset`, Perich–Miller center-out and random
/// target), `poyo_1.py` (`PoyoChurchlandDataset`, `PoyoOdohertyDataset`), `nlb.py` (`PoyoNLBDataset`).
/// torch_brain has no MC_RTT class; `nlb_rtt` is NLB's finger velocity with the O'Doherty class's
/// scale (MC_RTT is a recording of the same monkey, task and sensor as the O'Doherty–Sabes data).
public enum DatasetPreset: String, Sendable, Codable, CaseIterable {
    case perichCO = "perich_co"
    case perichRT = "perich_rt"
    case nlbMaze = "nlb_maze"
    case nlbRTT = "nlb_rtt"
    case churchland
    case odoherty

    /// What a preset sets.
    public struct Settings: Sendable, Equatable {
        /// The behaviour in a brainsets file (`group.column`) and, for NLB data, the NWB series.
        public var behaviour: String
        public var nwbBehaviour: String?
        /// `(v − mean) / std`, the same for every dimension.
        public var normalizeMean: Float
        public var normalizeStd: Float
        /// Interval set (torch_brain's dotted name) → loss weight; a sample's weight is the product
        /// of the weights of every set containing it.
        public var weights: [String: Float]
        /// The interval set whose samples are scored; `nil`: every sample.
        public var evalInterval: String?
    }

    public var settings: Settings {
        switch self {
        case .perichCO:
            return Settings(
                behaviour: "cursor.vel", normalizeMean: 0, normalizeStd: 20,
                weights: [
                    "movement_phases.random_period": 1.0, "movement_phases.hold_period": 0.1,
                    "movement_phases.reach_period": 5.0, "movement_phases.return_period": 1.0,
                    "movement_phases.invalid": 0.1, "cursor_outlier_segments": 0.0,
                ],
                evalInterval: "movement_phases.reach_period")
        case .perichRT:
            return Settings(
                behaviour: "cursor.vel", normalizeMean: 0, normalizeStd: 20,
                weights: [
                    "movement_phases.random_period": 1.0, "movement_phases.hold_period": 0.1,
                    "cursor_outlier_segments": 0.0,
                ],
                evalInterval: "movement_phases.random_period")
        case .churchland:
            return Settings(
                behaviour: "cursor.vel", normalizeMean: 0, normalizeStd: 800,
                weights: [
                    "movement_phases.hold_period": 0.1, "movement_phases.reach_period": 5.0,
                    "movement_phases.return_period": 1.0, "cursor_outlier_segments": 1.0,
                ],
                evalInterval: nil)
        case .odoherty:
            return Settings(
                behaviour: "cursor.vel", normalizeMean: 0, normalizeStd: 200, weights: [:], evalInterval: nil)
        case .nlbMaze:
            return Settings(
                behaviour: "hand.vel", nwbBehaviour: "hand_vel", normalizeMean: 0, normalizeStd: 100, weights: [:],
                evalInterval: "nlb_eval_intervals")
        case .nlbRTT:
            return Settings(
                behaviour: "finger.vel", nwbBehaviour: "finger_vel", normalizeMean: 0, normalizeStd: 200,
                weights: [:], evalInterval: nil)
        }
    }

    /// The preset torch_brain's classes would apply to a brainsets file: by the file's brainset id
    /// (`brainset/@id`, the folder torch_brain's class reads), else by the session id's task suffix
    /// (Perich) or an NLB maze layout; `nil` when nothing matches. Returns the reason too.
    static func infer(brainset: String?, sessionID: String, hasNLBEvalIntervals: Bool, hasHand: Bool)
        -> (DatasetPreset?, String)
    {
        let perichTask: DatasetPreset? =
            sessionID.hasSuffix("center_out_reaching")
            ? .perichCO : sessionID.hasSuffix("random_target_reaching") ? .perichRT : nil
        switch brainset {
        case "perich_miller_population_2018":
            guard let perichTask else {
                return (nil, "brainset perich_miller_population_2018, but session '\(sessionID)' names no task")
            }
            return (perichTask, "brainset perich_miller_population_2018, session '\(sessionID)'")
        case "churchland_shenoy_neural_2012": return (.churchland, "brainset churchland_shenoy_neural_2012")
        case "odoherty_sabes_nonhuman_2017": return (.odoherty, "brainset odoherty_sabes_nonhuman_2017")
        case "pei_pandarinath_nlb_2021": return (.nlbMaze, "brainset pei_pandarinath_nlb_2021")
        default: break
        }
        if let perichTask { return (perichTask, "session '\(sessionID)'") }
        if hasNLBEvalIntervals && hasHand { return (.nlbMaze, "hand velocity with nlb_eval_intervals") }
        let what = brainset.map { "brainset \($0), session '\(sessionID)'" } ?? "session '\(sessionID)'"
        return (nil, "no preset matches \(what)")
    }

    /// The preset for an NWB file: NLB MC_Maze (hand velocity and `move_onset_time`) or MC_RTT
    /// (finger velocity, no hand velocity); `nil` otherwise.
    static func inferNWB(hasHandVelocity: Bool, hasMoveOnset: Bool, hasFingerVelocity: Bool) -> (DatasetPreset?, String)
    {
        if hasHandVelocity && hasMoveOnset { return (.nlbMaze, "NWB hand_vel with trials.move_onset_time (NLB maze)") }
        if hasFingerVelocity && !hasHandVelocity { return (.nlbRTT, "NWB finger_vel (NLB random target task)") }
        return (nil, "no preset matches this NWB layout")
    }
}

/// How a reader chooses its settings when the dataset entry does not give them.
public enum PresetChoice: Sendable, Equatable, Codable {
    /// Infer a preset from the file as torch_brain's classes would (the default).
    case infer
    /// No preset: the file's normalisation attributes, else statistics of the data; Perich phase weights.
    case none
    case preset(DatasetPreset)

    /// `perich_co`, ..., `auto` (infer) or `none`.
    public init?(name: String) {
        switch name {
        case "auto", "infer": self = .infer
        case "none": self = .none
        default:
            guard let p = DatasetPreset(rawValue: name) else { return nil }
            self = .preset(p)
        }
    }

    public static let names = ["auto", "none"] + DatasetPreset.allCases.map(\.rawValue)
}

/// The settings a recording was read with, fully resolved (config, checkpoint, preset, file
/// attributes and data statistics applied), so a checkpoint carries them and `poyo eval`,
/// `poyo finetune` and `poyo baseline` read the same recording the same way.
public struct RecordingSettings: Sendable, Codable, Equatable {
    /// What `ReaderOptions.behaviour` must say to read the same series.
    public var behaviour: String
    public var normalizeMean: [Float]
    public var normalizeStd: [Float]
    /// Interval set → loss weight (the names the reader accepts in `intervalWeights`).
    public var weights: [String: Float]
    /// The scored interval set, or `all`.
    public var evalInterval: String
    public var split: SplitRule
    /// The preset they came from, if any (reported, not applied again).
    public var preset: String?

    public init(
        behaviour: String, normalizeMean: [Float], normalizeStd: [Float], weights: [String: Float],
        evalInterval: String, split: SplitRule, preset: String?
    ) {
        self.behaviour = behaviour
        self.normalizeMean = normalizeMean
        self.normalizeStd = normalizeStd
        self.weights = weights
        self.evalInterval = evalInterval
        self.split = split
        self.preset = preset
    }

    /// `o` with every setting it leaves open taken from these.
    func filling(_ o: ReaderOptions) -> ReaderOptions {
        var o = o
        o.behaviour = o.behaviour ?? behaviour
        if !o.normalizeFromData {
            o.normalizationMean = o.normalizationMean ?? normalizeMean
            o.normalizationStd = o.normalizationStd ?? normalizeStd
        }
        o.intervalWeights = o.intervalWeights ?? weights
        o.evalIntervals = o.evalIntervals ?? evalInterval
        if o.split == .auto { o.split = split }
        o.preset = .none
        return o
    }
}

/// What a file offers a preset: whether it holds a behaviour series (`cursor.vel`; NWB `hand_vel`)
/// and an interval set (`movement_phases.reach_period`).
struct PresetFileFacts {
    var hasBehaviour: (String) -> Bool
    var hasIntervals: (String) -> Bool
}

/// How a recording's open settings were resolved.
struct ResolvedSettings {
    var options: ReaderOptions
    /// `perich_co (session '…')`, `none (…)`, `the checkpoint's settings`.
    var note: String
    /// The preset applied, if any.
    var preset: String?
    /// An inferred preset the file cannot take: which one, and what the file lacks.
    var notApplied: String?
}

extension DatasetPreset {
    /// What this preset needs that the file lacks (its behaviour series, its eval interval set), as
    /// (HDF5 path or series, reason); nil when the file has everything it needs. A need the config
    /// already settles (`behaviour:`, `eval_interval:`) is not checked.
    func missing(in file: PresetFileFacts, nwb: Bool, behaviourGiven: Bool = false, evalGiven: Bool = false)
        -> (field: String, reason: String)?
    {
        let s = settings
        let behaviour = nwb ? s.nwbBehaviour ?? s.behaviour : s.behaviour
        if !behaviourGiven && !file.hasBehaviour(behaviour) {
            return (behaviour.replacingOccurrences(of: ".", with: "/"), "no \(behaviour) behaviour series")
        }
        if !evalGiven, let eval = s.evalInterval, !file.hasIntervals(eval) {
            let path = eval.replacingOccurrences(of: ".", with: "/")
            return (path, "no '\(path)' interval set (the preset's eval mask)")
        }
        return nil
    }
}

extension ReaderOptions {
    /// These options with every setting that must fit the file left to the file itself: no preset,
    /// no checkpoint settings, no named behaviour, interval sets or normalisation, the default split.
    /// What `poyo inspect` reads with when the given settings do not fit the file.
    public var withFileOwnSettings: ReaderOptions {
        var o = ReaderOptions()
        o.format = format
        o.sessionID = sessionID
        o.preset = .none
        o.lazySpikes = lazySpikes
        o.isolate = isolate
        o.timeout = timeout
        return o
    }

    /// These options with the open settings resolved for session `sessionID`: the checkpoint's
    /// settings for it when given, else the preset (named, or inferred by `infer`); and a line
    /// saying which.
    ///
    /// An inferred preset applies only when the file has what it needs (behaviour series, eval
    /// interval set); otherwise the file's own settings stand (eval mask: every finite sample of the
    /// split; normalisation: file attributes, else the data's statistics) and `notApplied` says which
    /// preset was considered and why it was not applied: a name heuristic never makes a readable
    /// file unreadable. A preset named in the config that the file cannot take is an error naming
    /// the set. A preset's weight sets that the file lacks are left out silently: one preset covers
    /// sessions with and without, say, `movement_phases.invalid`.
    func resolvingSettings(
        sessionID: String, infer: () -> (DatasetPreset?, String), nwb: Bool, file: String, facts: PresetFileFacts
    ) throws -> ResolvedSettings {
        if let known = knownSettings?[sessionID] {
            let note = "the checkpoint's settings" + (known.preset.map { " (preset \($0))" } ?? "")
            return ResolvedSettings(options: known.filling(self), note: note, preset: known.preset)
        }
        let (preset, why): (DatasetPreset?, String)
        switch self.preset {
        case .none: return ResolvedSettings(options: self, note: "none (preset: none)", preset: nil)
        case .preset(let p):
            let lack = p.missing(
                in: facts, nwb: nwb, behaviourGiven: behaviour != nil, evalGiven: evalIntervals != nil)
            if let (field, reason) = lack {
                throw DataError.invalid(
                    file: file, field: field, reason: "the named preset \(p.rawValue) needs it: \(reason)")
            }
            (preset, why) = (p, "from the config")
        case .infer:
            (preset, why) = infer()
            if let p = preset, let (_, reason) = p.missing(in: facts, nwb: nwb) {
                var o = self
                o.evalIntervals = o.evalIntervals ?? "all"
                let message =
                    "preset \(p.rawValue) considered (\(why)) but not applied: \(reason); the file's own settings "
                    + "are used (eval mask: every finite sample of the split; normalisation: the file's, else "
                    + "the data's)"
                return ResolvedSettings(
                    options: o, note: "none (\(p.rawValue) considered, not applied: \(reason))", preset: nil,
                    notApplied: message)
            }
        }
        guard let preset else { return ResolvedSettings(options: self, note: "none (\(why))", preset: nil) }
        let s = preset.settings
        var o = self
        o.behaviour = o.behaviour ?? (nwb ? s.nwbBehaviour ?? s.behaviour : s.behaviour)
        if !o.normalizeFromData {
            o.normalizationMean = o.normalizationMean ?? [s.normalizeMean]
            o.normalizationStd = o.normalizationStd ?? [s.normalizeStd]
        }
        o.intervalWeights = o.intervalWeights ?? s.weights.filter { facts.hasIntervals($0.key) }
        o.evalIntervals = o.evalIntervals ?? s.evalInterval ?? "all"
        return ResolvedSettings(options: o, note: "\(preset.rawValue) (\(why))", preset: preset.rawValue)
    }

    /// The normalisation source to report: `config` only when the entry itself set it; else the
    /// checkpoint or the preset that filled it in.
    func normalizationLabel(_ source: String, resolvedFor sessionID: String, preset: String?) -> String {
        guard source == "config", normalizationStd == nil, normalizationMean == nil else { return source }
        if knownSettings?[sessionID] != nil { return "checkpoint" }
        return preset.map { "preset \($0)" } ?? source
    }
}
