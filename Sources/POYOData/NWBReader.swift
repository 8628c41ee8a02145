import Foundation

/// Reads an NWB 2.x file (HDF5) in the DANDI / Neural Latents Benchmark layout (docs/spec.md §1.3).
///
/// - Spikes: the units table's ragged `units/spike_times` with `units/spike_times_index` (end
///   offsets per unit). Unit ids follow torch_brain's `dandi.py`:
///   `group_<electrode group>/elec<electrode id>/unit_<row>` through `units/electrodes`
///   (+ `electrodes_index`) into `general/extracellular_ephys/electrodes` (`group_name`, `id`);
///   `unit_<row>` when the table has no electrodes. The session prefix is added as for brainsets.
/// - Behaviour: a TimeSeries under `processing/behavior` (`hand_vel`, `finger_vel`, `cursor_vel`,
///   also inside containers such as `Velocity/cursor_vel`), timed by `timestamps` or by
///   `starting_time` + its `rate` attribute; `data` is scaled by its `conversion` and `offset`
///   attributes. With only a position series (`*_pos`), velocity is derived by central
///   differences (with a warning).
/// - Trials: `intervals/trials` (`start_time`, `stop_time`), `split` (NLB) and `move_onset_time`.
///   Splits: the `split` column when present (NLB: train → 80/20 train/valid, val → test),
///   otherwise a seeded 70/10/20 trial split, otherwise 70/10/20 time blocks.
///   Eval mask: `move_onset_time` −50 ms … +650 ms (NLB maze, as brainsets' `nlb_eval_intervals`).
/// - Session id: `general/session_id`, else the file name without extension; subject
///   `general/subject/subject_id` (lower-cased). Domain: the span of spikes, behaviour and trials.
public enum NWBReader {
    public static func read(_ url: URL, options: ReaderOptions = ReaderOptions()) throws -> Recording {
        var o = options
        o.format = .nwb
        return try RecordingReader.read(url, options: o)
    }

    static let velocityNames = ["hand_vel", "finger_vel", "cursor_vel"]

    static func load(_ f: HDF5File, url: URL, options given: ReaderOptions) throws -> LoadedRecording {
        let file = f.path
        var warnings: [DataWarning] = []
        guard f.isGroup("units") else { throw DataError.missing(file: file, field: "units") }
        for p in ["units/spike_times", "units/spike_times_index"] where !f.exists(p) {
            throw DataError.missing(file: file, field: p)
        }
        let sessionID =
            try given.sessionID ?? optionalString(f, "general/session_id")
            ?? url.deletingPathExtension().lastPathComponent
        guard !sessionID.isEmpty else {
            throw DataError.invalid(file: file, field: "general/session_id", reason: "is empty")
        }
        // Units and spikes first: a defect of the data itself is reported before any settings step.
        let units = try readUnits(f, sessionID: sessionID, options: given, warnings: &warnings)
        let scan = units.scan

        let resolved = try resolveSettings(f, sessionID: sessionID, given: given)
        let o = resolved.options
        let subjectID = try optionalString(f, "general/subject/subject_id")?.lowercased() ?? "unknown"

        // Behaviour.
        let b = try readBehaviour(f, o, warnings: &warnings)
        let norm = try resolveNormalization(
            o, dim: b.dim, fileMean: nil, fileStd: nil, values: b.values,
            file: file, field: b.path)

        let t = try readTrials(f)
        let trials = t.trials

        // Domain: the hull of everything that has a time.
        var first = min(scan.minTime, b.times.first ?? .infinity, trials.items.map(\.start).min() ?? .infinity)
        var last = max(scan.maxTime, b.times.last ?? -.infinity, trials.items.map(\.end).max() ?? -.infinity)
        if !first.isFinite || !last.isFinite {
            first = 0
            last = 0
        }
        let domain = Intervals([Interval(first, last.nextUp)])

        // Splits.
        var rule = o.split
        if rule == .auto || rule == .file {
            rule = t.splitLabels != nil ? .nlb : (trials.isEmpty ? .time70_10_20 : .trials70_10_20)
        }
        let (train, valid, test) = try splitDomains(
            rule, domain: domain, trials: trials, splitLabels: t.splitLabels, file: file)
        let (evalSet, evalName, weights) = try evalMaskAndWeights(
            o, trials: trials, onsets: t.onsets, file: file, warnings: &warnings)

        var recording = Recording(
            sessionID: sessionID, subjectID: subjectID, heldOut: o.heldOut ?? false, domain: domain,
            spikeTimes: units.spikeTimes, spikeUnit: units.spikeUnit, unitIDs: units.unitIDs,
            behaviourTimes: b.times, behaviour: b.values, behaviourDim: b.dim, position: [],
            normalizationMean: norm.mean, normalizationStd: norm.std, trials: trials, movementPhases: [:],
            trainDomain: train, validDomain: valid, testDomain: test,
            lossWeights: weights, evalIntervals: evalSet, spikeSource: units.source)
        clipSplits(&recording, file: file, warnings: &warnings)
        try recording.validate(file: file)
        try recording.checkUsable(file: file)

        let summary = try summarize(
            f, recording, span: [first, last], units: units, behaviour: b, normalization: norm, trials: t, rule: rule,
            evalSet: evalSet, evalName: evalName, weights: weights, given: given, resolved: resolved)
        return LoadedRecording(recording: recording, warnings: warnings, summary: summary, file: url)
    }

    // MARK: - Load, in parts

    /// The settings the entry leaves open: the checkpoint's for this session, else a preset the file can take.
    static func resolveSettings(_ f: HDF5File, sessionID: String, given: ReaderOptions) throws -> ResolvedSettings {
        let layout = (
            hand: try findSeries(f, "hand_vel") != nil || findSeries(f, "hand_pos") != nil,
            finger: try findSeries(f, "finger_vel") != nil || findSeries(f, "finger_pos") != nil,
            onset: f.exists("intervals/trials/move_onset_time")
        )
        return try given.resolvingSettings(
            sessionID: sessionID,
            infer: {
                DatasetPreset.inferNWB(
                    hasHandVelocity: layout.hand, hasMoveOnset: layout.onset, hasFingerVelocity: layout.finger)
            }, nwb: true, file: f.path,
            facts: PresetFileFacts(
                hasBehaviour: { name in
                    let position = name.hasSuffix("_vel") ? String(name.dropLast(4)) + "_pos" : name
                    return ((try? findSeries(f, name)) ?? nil) != nil || ((try? findSeries(f, position)) ?? nil) != nil
                },
                // NWB's eval mask is derived from the trials' move onsets (`evalMaskAndWeights`).
                hasIntervals: { $0 != "nlb_eval_intervals" || layout.onset }))
    }

    /// What `poyo inspect` prints of a loaded file, and the settings a checkpoint records for it.
    static func summarize(
        _ f: HDF5File, _ recording: Recording, span: [Double], units: UnitSpikes, behaviour b: Behaviour,
        normalization norm: (mean: [Float], std: [Float], source: String), trials t: Trials, rule: SplitRule,
        evalSet: Intervals?, evalName: String, weights: [WeightedIntervals], given: ReaderOptions,
        resolved: ResolvedSettings
    ) throws -> RecordingSummary {
        let domain = recording.domain
        let weightTable = Dictionary(weights.map { ($0.name, $0.weight) }, uniquingKeysWith: { a, _ in a })
        return RecordingSummary(
            format: .nwb, sessionID: recording.sessionID, subjectID: recording.subjectID, units: units.unitIDs.count,
            spikes: units.spikeCount,
            domain: [span], duration: span[1] - span[0], absoluteStart: nil, unitSpikeCounts: units.scan.perUnit,
            behaviour: try behaviourSeries(f), target: b.path, derivedFrom: b.derivedFrom,
            nonFiniteSamples: b.nonFinite,
            normalizationMean: norm.mean, normalizationStd: norm.std,
            normalizationSource: given.normalizationLabel(
                norm.source, resolvedFor: recording.sessionID, preset: resolved.preset),
            trials: t.trials.count, trialColumns: t.columns, splitRule: rule.description,
            train: SplitSummary(recording.trainDomain, domain: domain),
            valid: SplitSummary(recording.validDomain, domain: domain),
            test: SplitSummary(recording.testDomain, domain: domain), evalIntervals: evalName,
            lossWeights: weightTable, spikeLookup: units.lookup, preset: resolved.note,
            settingsNote: resolved.notApplied,
            settings: RecordingSettings(
                behaviour: b.derivedFrom.map(velocityName(ofPositionSeries:)) ?? b.path,
                normalizeMean: norm.mean, normalizeStd: norm.std, weights: weightTable,
                evalInterval: evalSet == nil ? "all" : "nlb_eval_intervals", split: rule, preset: resolved.preset))
    }

    /// `units/`: spike times per unit (`spike_times` + `spike_times_index`), checked in one pass over a
    /// per-unit time grid; lazy (read per window) unless unsorted or `lazySpikes` is off.
    struct UnitSpikes {
        var unitIDs: [String]
        var spikeCount: Int
        var scan: UnitSpikeFile.Scan
        var spikeTimes: [Double] = []
        var spikeUnit: [Int32] = []
        var source: (any SpikeSource)?
        var lookup = "in memory"
    }

    static func readUnits(_ f: HDF5File, sessionID: String, options o: ReaderOptions, warnings: inout [DataWarning])
        throws -> UnitSpikes
    {
        let file = f.path
        let times = try HDF5Dataset(f, "units/spike_times")
        guard times.typeClass == .float, times.shape.count == 1 else {
            throw DataError.invalid(
                file: file, field: "units/spike_times",
                reason: "expected 1-D floating-point seconds, found \(times.typeClass) \(times.shape)")
        }
        let unitStart = try unitOffsets(f, spikeCount: times.count)
        let unitCount = unitStart.count - 1
        let localIDs = try unitNames(f, unitCount: unitCount)
        let unitIDs = localIDs.map { "\(sessionID)/\($0)" }

        // A grid from each unit's first and last spike, then one checking pass.
        let (origin, width, buckets) = try timeGrid(times, unitStart: unitStart, file: file)
        var offsets = [Int32](repeating: 0, count: max(1, unitCount * (buckets + 1)))
        for u in 0..<unitCount where unitStart[u + 1] - unitStart[u] > Int(Int32.max) {
            throw DataError.invalid(
                file: file, field: "units/spike_times", reason: "unit \(u) has more than 2^31 spikes")
        }
        let scan = try UnitSpikeFile.scan(
            times: times, unitStart: unitStart, origin: origin, width: width,
            buckets: buckets, offsets: &offsets)
        var spikeTimes: [Double] = []
        var spikeUnit: [Int32] = []
        var source: (any SpikeSource)?
        var lookup = "in memory"
        if let (u, i, t, p) = scan.firstUnsorted {
            warnings.append(
                DataWarning(
                    file: file, field: "units/spike_times",
                    message:
                        "unit \(u) is not sorted (entry \(i) = \(t) < \(p)); sorted in memory (\(times.count) "
                        + "spikes, all read)"
                ))
            (spikeTimes, spikeUnit) = try UnitSpikeFile.readAll(times: times, unitStart: unitStart, sort: true)
            lookup = "in memory (sorted on load)"
        } else {
            let s = UnitSpikeFile(
                times: times, unitStart: unitStart, origin: origin, width: width, buckets: buckets, offsets: offsets)
            if o.lazySpikes {
                source = s
                lookup = s.lookup
            } else {
                (spikeTimes, spikeUnit) = try s.allSpikes()
            }
        }
        if let w = emptyUnitWarning(scan.perUnit, ids: localIDs, file: file, field: "units/spike_times") {
            warnings.append(w)
        }

        var result = UnitSpikes(unitIDs: unitIDs, spikeCount: times.count, scan: scan)
        result.spikeTimes = spikeTimes
        result.spikeUnit = spikeUnit
        result.source = source
        result.lookup = lookup
        return result
    }

    /// The per-unit time grid of `UnitSpikeFile`: its origin, bucket width (seconds) and bucket count,
    /// from each unit's first and last spike (a grid of about 4 million cells over all units).
    static func timeGrid(_ times: HDF5Dataset, unitStart: [Int], file: String) throws -> (
        origin: Double, width: Double, buckets: Int
    ) {
        let unitCount = unitStart.count - 1
        var lo = Double.infinity
        var hi = -Double.infinity
        for u in 0..<unitCount where unitStart[u + 1] > unitStart[u] {
            for i in [unitStart[u], unitStart[u + 1] - 1] {
                let t = try times.doubles(i..<(i + 1))[0]
                if t.isFinite {
                    lo = min(lo, t)
                    hi = max(hi, t)
                }
            }
        }
        if !lo.isFinite {
            lo = 0
            hi = 0
        }
        guard abs(lo) <= Recording.maxTime, abs(hi) <= Recording.maxTime else {
            throw DataError.invalid(
                file: file, field: "units/spike_times",
                reason: "times reach \(abs(lo) > abs(hi) ? lo : hi) s (corrupt times?)")
        }
        let origin = lo.rounded(.down)
        let span = max(1, hi - origin)
        let width = max(1, (Double(unitCount) * span / 4e6).rounded(.up))
        return (origin, width, Int((span / width).rounded(.down)) + 1)
    }

    /// `intervals/trials`: the trials, their `split` labels and `move_onset_time` when present, and the
    /// names of the other columns (for `poyo inspect`).
    struct Trials {
        var trials = Intervals()
        var splitLabels: [String]?
        var onsets: [Double]?
        var columns: [String] = []
    }

    static func readTrials(_ f: HDF5File) throws -> Trials {
        let file = f.path
        var trials = Intervals()
        var labels: [String]?
        var onsets: [Double]?
        var trialColumns: [String] = []
        if f.isGroup("intervals/trials") {
            let starts = try f.readDoubles("intervals/trials/start_time")
            let stops = try f.readDoubles("intervals/trials/stop_time")
            guard starts.count == stops.count else {
                throw DataError.invalid(
                    file: file, field: "intervals/trials",
                    reason: "\(starts.count) start times but \(stops.count) stop times")
            }
            for (i, (s, e)) in zip(starts, stops).enumerated() where !(s.isFinite && e.isFinite && s <= e) {
                throw DataError.invalid(
                    file: file, field: "intervals/trials", reason: "trial \(i) [\(s), \(e)) is not finite and ordered")
            }
            trials = Intervals(starts: starts, ends: stops)
            trialColumns = try f.children(of: "intervals/trials").filter {
                !["start_time", "stop_time", "id"].contains($0) && !$0.hasSuffix("_index")
            }
            if f.exists("intervals/trials/split") {
                labels = try f.readStrings("intervals/trials/split")
                guard labels!.count == trials.count else {
                    throw DataError.invalid(
                        file: file, field: "intervals/trials/split",
                        reason: "\(labels!.count) labels for \(trials.count) trials")
                }
            }
            if f.exists("intervals/trials/move_onset_time") {
                onsets = try f.readDoubles("intervals/trials/move_onset_time")
                guard onsets!.count == trials.count else {
                    throw DataError.invalid(
                        file: file, field: "intervals/trials/move_onset_time",
                        reason: "\(onsets!.count) values for \(trials.count) trials")
                }
            }
        }

        return Trials(trials: trials, splitLabels: labels, onsets: onsets, columns: trialColumns)
    }

    /// `units/spike_times_index` as start offsets `[unit count + 1]` into `spike_times` (checked:
    /// non-decreasing end offsets that end exactly at the last spike).
    static func unitOffsets(_ f: HDF5File, spikeCount: Int) throws -> [Int] {
        let file = f.path
        let ends = try f.readInt64s("units/spike_times_index")
        var unitStart = [0]
        for (u, e) in ends.enumerated() {
            guard e >= Int64(unitStart.last!), e <= Int64(spikeCount) else {
                throw DataError.invalid(
                    file: file, field: "units/spike_times_index",
                    reason: "entry \(u) = \(e) is not an end offset in \(unitStart.last!)...\(spikeCount)")
            }
            unitStart.append(Int(e))
        }
        guard unitStart.last == spikeCount else {
            throw DataError.invalid(
                file: file, field: "units/spike_times_index",
                reason: "ends at \(unitStart.last!) but units/spike_times has \(spikeCount) values")
        }
        return unitStart
    }

    /// The eval mask (NLB's `nlb_eval_intervals` from `move_onset_time` unless told otherwise) and the
    /// loss weights of named interval sets.
    static func evalMaskAndWeights(
        _ o: ReaderOptions, trials: Intervals, onsets: [Double]?, file: String, warnings: inout [DataWarning]
    ) throws -> (mask: Intervals?, name: String, weights: [WeightedIntervals]) {
        var evalSet: Intervals?
        var evalName = "all samples"
        if let name = o.evalIntervals, !["all", "none", ""].contains(name) {
            guard name == "nlb_eval_intervals" || name == "move_onset_time" else {
                throw DataError.invalid(
                    file: file, field: name,
                    reason: "NWB files offer the eval mask 'nlb_eval_intervals' (from move_onset_time) or 'all'")
            }
            guard onsets != nil else { throw DataError.missing(file: file, field: "intervals/trials/move_onset_time") }
        }
        if o.evalIntervals == nil || o.evalIntervals == "nlb_eval_intervals" || o.evalIntervals == "move_onset_time",
            let onsets
        {
            let finite = onsets.filter(\.isFinite)
            evalSet = Intervals(finite.map { Interval($0 - 0.05, $0 + 0.65) }).merged()
            evalName = "nlb_eval_intervals (move_onset_time −0.05…+0.65 s)"
        }
        var weights: [WeightedIntervals] = []
        for (key, w) in (o.intervalWeights ?? [:]).sorted(by: { $0.key < $1.key }) {
            switch key {
            case "trials", "intervals/trials":
                weights.append(WeightedIntervals(name: "intervals/trials", intervals: trials, weight: w))
            case "nlb_eval_intervals":
                weights.append(
                    WeightedIntervals(name: "nlb_eval_intervals", intervals: evalSet ?? Intervals(), weight: w))
            default:
                warnings.append(
                    DataWarning(
                        file: file, field: key,
                        message: "NWB files offer weights for 'trials' and 'nlb_eval_intervals' only; ignored"))
            }
        }

        return (evalSet, evalName, weights)
    }

    // MARK: - Units

    /// `group_<g>/elec<id>/unit_<row>` per unit (torch_brain's UTAH_ARRAY_SPIKES naming).
    static func unitNames(_ f: HDF5File, unitCount: Int) throws -> [String] {
        let table = "general/extracellular_ephys/electrodes"
        guard f.exists("units/electrodes"), f.exists("\(table)/group_name") else {
            return (0..<unitCount).map { "unit_\($0)" }
        }
        let regions = try f.readInt64s("units/electrodes")
        var first: [Int64?] = []
        if f.exists("units/electrodes_index") {
            let ends = try f.readInt64s("units/electrodes_index")
            guard ends.count == unitCount else {
                throw DataError.invalid(
                    file: f.path, field: "units/electrodes_index",
                    reason: "\(ends.count) entries for \(unitCount) units")
            }
            var start: Int64 = 0
            for e in ends {
                guard e >= start, e <= Int64(regions.count) else {
                    throw DataError.invalid(
                        file: f.path, field: "units/electrodes_index",
                        reason: "entry \(e) outside \(start)...\(regions.count)")
                }
                first.append(e > start ? regions[Int(start)] : nil)
                start = e
            }
        } else {
            guard regions.count == unitCount else {
                throw DataError.invalid(
                    file: f.path, field: "units/electrodes", reason: "\(regions.count) entries for \(unitCount) units")
            }
            first = regions.map { $0 }
        }
        let groups = try f.readStrings("\(table)/group_name")
        let ids = f.exists("\(table)/id") ? try f.readInt64s("\(table)/id") : groups.indices.map { Int64($0) }
        guard ids.count == groups.count else {
            throw DataError.invalid(
                file: f.path, field: "\(table)/id", reason: "\(ids.count) ids for \(groups.count) electrodes")
        }
        return try first.enumerated().map { u, e in
            guard let e else { return "unit_\(u)" }
            guard e >= 0, e < Int64(groups.count) else {
                throw DataError.invalid(
                    file: f.path, field: "units/electrodes",
                    reason: "unit \(u) names electrode row \(e), outside 0..<\(groups.count)")
            }
            return "group_\(groups[Int(e)])/elec\(ids[Int(e)])/unit_\(u)"
        }
    }

    static func optionalString(_ f: HDF5File, _ p: String) throws -> String? {
        guard f.exists(p), !f.isGroup(p) else { return nil }
        return try f.readStrings(p).first
    }
}
