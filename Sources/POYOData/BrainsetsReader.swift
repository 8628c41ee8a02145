import Foundation

/// Reads one brainsets/temporaldata `.h5` recording (layout in `BrainsetsWriter`, docs/spec.md §1.2).
///
/// Every group is dispatched on its `object` attribute (`Data`, `ArrayDict`,
/// `IrregularTimeSeries`, `RegularTimeSeries`, `Interval`); `timekeys`, `_unicode_keys`, `domain`
/// and `absolute_start` are honoured. Required: `session` (attr `id`), `spikes/{timestamps,
/// unit_index}`, `units/id`, `domain` and a behaviour group (`cursor`, `hand` or `finger`, column
/// `vel`; or `ReaderOptions.behaviour`). Optional: `subject`, `trials`, `movement_phases`,
/// `cursor_outlier_segments`, `nlb_eval_intervals`, the split domains, our `poyo_*` attributes.
///
/// Spikes are checked in one streaming pass and then, by default, read per window
/// (`SortedSpikeFile`). Repairs, each with a `DataWarning`: unsorted spikes are sorted in memory;
/// spikes outside the domain are ignored (no window covers them); split domains are clipped to
/// the domain; non-finite behaviour samples are masked out of loss and metrics. Everything else
/// wrong is a `DataError` naming the file and the HDF5 path.
public enum BrainsetsReader {
    public static func read(_ url: URL, options: ReaderOptions = ReaderOptions()) throws -> Recording {
        var o = options
        o.format = .brainsets
        return try RecordingReader.read(url, options: o)
    }

    static func load(_ f: HDF5File, url: URL, options given: ReaderOptions) throws -> LoadedRecording {
        let file = f.path
        var warnings: [DataWarning] = []
        let catalog = try TemporalDataCatalog(f)
        for required in ["session", "spikes", "units", "domain"] where !f.exists(required) {
            throw DataError.missing(file: file, field: required)
        }
        let sessionID = try given.sessionID ?? f.attributeString("id", at: "session")
        guard !sessionID.isEmpty else { throw DataError.invalid(file: file, field: "session/@id", reason: "is empty") }
        let domain = try readIntervals("domain", f, catalog)

        // Units and spikes first: a defect of the data itself (dtype, order, domain) is what the user
        // must hear about, before any settings are resolved.
        try expectKind(catalog, "spikes", .irregular, file)
        try expectKind(catalog, "units", .arrayDict, file)
        let localIDs = try f.readStrings("units/id")
        if Set(localIDs).count != localIDs.count {
            throw DataError.invalid(file: file, field: "units/id", reason: "unit ids are not unique")
        }
        let unitIDs = localIDs.map { "\(sessionID)/\($0)" }
        let (spikeTimes, spikeUnit, source, perUnit, lookup) = try readSpikes(
            f, catalog, domain: domain,
            unitCount: localIDs.count, options: given,
            warnings: &warnings)
        if let w = emptyUnitWarning(perUnit, ids: localIDs, file: file, field: "units/id") { warnings.append(w) }

        let resolved = try resolveSettings(f, sessionID: sessionID, given: given)
        let o = resolved.options
        let (group, column) = try behaviourGroup(f, catalog, o)
        guard f.exists(group) else { throw DataError.missing(file: file, field: group) }
        let subjectID = f.hasAttribute("id", at: "subject") ? try f.attributeString("id", at: "subject") : "unknown"
        let heldOut =
            try o.heldOut
            ?? (f.hasAttribute(BrainsetsLayout.heldOutAttribute, at: "/")
                ? f.attributeInt(BrainsetsLayout.heldOutAttribute, at: "/") != 0 : false)

        // Behaviour.
        let b = try readBehaviour(f, catalog, group: group, column: column, warnings: &warnings)
        let (fileMean, fileStd) = try fileNormalization(f, group: group)
        let norm = try resolveNormalization(
            o, dim: b.dim, fileMean: fileMean, fileStd: fileStd, values: b.values,
            file: file, field: "\(group)/\(column)")

        // Intervals.
        let trials = try optionalIntervals("trials", f, catalog)
        let phases = try movementPhases(f, catalog)
        let weights = try lossWeights(f, catalog, o, phases: phases, warnings: &warnings)
        let (evalSet, evalName) = try evalIntervals(f, catalog, o, phases: phases)
        let settingsEval = evalSet == nil ? "all" : evalName

        // Splits.
        let (rule, train, valid, test) = try splits(f, catalog, o, domain: domain, trials: trials)

        var recording = Recording(
            sessionID: sessionID, subjectID: subjectID, heldOut: heldOut, domain: domain,
            spikeTimes: spikeTimes, spikeUnit: spikeUnit, unitIDs: unitIDs,
            behaviourTimes: b.times, behaviour: b.values, behaviourDim: b.dim,
            normalizationMean: norm.mean, normalizationStd: norm.std,
            trials: trials, movementPhases: phases,
            trainDomain: train, validDomain: valid, testDomain: test,
            lossWeights: weights, evalIntervals: evalSet, spikeSource: source)
        clipSplits(&recording, file: file, warnings: &warnings)
        try recording.validate(file: file)
        try recording.checkUsable(file: file)

        let summary = try summarize(
            f, catalog, recording, perUnit: perUnit, lookup: lookup, group: group, behaviour: b, normalization: norm,
            rule: rule, evalName: evalName, settingsEval: settingsEval, given: given, resolved: resolved)
        return LoadedRecording(recording: recording, warnings: warnings, summary: summary, file: url)
    }

    // MARK: - Load, in parts

    /// The settings the entry leaves open: the checkpoint's for this session, else a preset the file can take.
    static func resolveSettings(_ f: HDF5File, sessionID: String, given: ReaderOptions) throws -> ResolvedSettings {
        let brainset = f.hasAttribute("id", at: "brainset") ? try f.attributeString("id", at: "brainset") : nil
        return try given.resolvingSettings(
            sessionID: sessionID,
            infer: {
                DatasetPreset.infer(
                    brainset: brainset, sessionID: sessionID, hasNLBEvalIntervals: f.exists("nlb_eval_intervals"),
                    hasHand: f.exists("hand"))
            }, nwb: false, file: f.path,
            facts: PresetFileFacts(
                hasBehaviour: { spec in
                    let path = spec.replacingOccurrences(of: ".", with: "/")
                    let group = path.split(separator: "/").dropLast().joined(separator: "/")
                    return f.exists(path) || (path.hasSuffix("/vel") && f.exists("\(group)/pos"))
                },
                hasIntervals: { f.exists($0.replacingOccurrences(of: ".", with: "/")) }))
    }

    /// The normalisation a file of ours stores on its behaviour group, when it does.
    static func fileNormalization(_ f: HDF5File, group: String) throws -> (mean: [Float]?, std: [Float]?) {
        func floats(_ name: String) throws -> [Float]? {
            f.hasAttribute(name, at: group) ? try f.attributeDoubles(name, at: group).map { Float($0) } : nil
        }
        return (try floats(BrainsetsLayout.normMeanAttribute), try floats(BrainsetsLayout.normStdAttribute))
    }

    /// What `poyo inspect` prints of a loaded file, and the settings a checkpoint records for it.
    static func summarize(
        _ f: HDF5File, _ catalog: TemporalDataCatalog, _ recording: Recording, perUnit: [Int], lookup: String,
        group: String, behaviour b: Behaviour, normalization norm: (mean: [Float], std: [Float], source: String),
        rule: SplitRule, evalName: String, settingsEval: String, given: ReaderOptions, resolved: ResolvedSettings
    ) throws -> RecordingSummary {
        let domain = recording.domain
        let weightTable = Dictionary(
            recording.lossWeights.map { ($0.name, $0.weight) }, uniquingKeysWith: { a, _ in a })
        return RecordingSummary(
            format: .brainsets, sessionID: recording.sessionID, subjectID: recording.subjectID,
            units: recording.unitIDs.count, spikes: recording.spikeCount, domain: domain.map { [$0.start, $0.end] },
            duration: (domain.items.last?.end ?? 0) - (domain.items.first?.start ?? 0),
            absoluteStart: catalog.rootAbsoluteStart, unitSpikeCounts: perUnit,
            behaviour: try behaviourSeries(f, catalog, known: (group, b.times)),
            target: "\(group).\(b.column)", derivedFrom: b.derivedFrom.map { "\(group).\($0)" },
            nonFiniteSamples: b.nonFinite,
            normalizationMean: norm.mean, normalizationStd: norm.std,
            normalizationSource: given.normalizationLabel(
                norm.source, resolvedFor: recording.sessionID, preset: resolved.preset),
            trials: recording.trials.count,
            trialColumns: catalog["trials"]?.columns.filter { $0 != "start" && $0 != "end" } ?? [],
            splitRule: rule.description,
            train: SplitSummary(recording.trainDomain, domain: domain),
            valid: SplitSummary(recording.validDomain, domain: domain),
            test: SplitSummary(recording.testDomain, domain: domain), evalIntervals: evalName,
            lossWeights: weightTable, spikeLookup: lookup, preset: resolved.note, settingsNote: resolved.notApplied,
            settings: RecordingSettings(
                behaviour: b.column == "vel" ? group : "\(group).\(b.column)",
                normalizeMean: norm.mean, normalizeStd: norm.std, weights: weightTable,
                evalInterval: settingsEval, split: rule, preset: resolved.preset))
    }

    /// Every interval set under `movement_phases/`, by name.
    static func movementPhases(_ f: HDF5File, _ catalog: TemporalDataCatalog) throws -> [String: Intervals] {
        var phases: [String: Intervals] = [:]
        if catalog["movement_phases"] != nil {
            for obj in catalog.all(.interval) where obj.path.hasPrefix("movement_phases/") {
                let name = String(obj.path.dropFirst("movement_phases/".count))
                // `domain` is the group's own domain (temporaldata's layout), not a phase.
                guard !name.contains("/"), name != "domain" else { continue }
                phases[name] = try readIntervals(obj.path, f, catalog)
            }
        }
        return phases
    }

    /// The loss weights: the config's interval sets by path when it names them, else torch_brain's
    /// per-phase weights and the outlier weight for `cursor_outlier_segments`.
    static func lossWeights(
        _ f: HDF5File, _ catalog: TemporalDataCatalog, _ o: ReaderOptions, phases: [String: Intervals],
        warnings: inout [DataWarning]
    ) throws -> [WeightedIntervals] {
        let file = f.path
        var weights: [WeightedIntervals] = []
        if let custom = o.intervalWeights {
            for (key, w) in custom.sorted(by: { $0.key < $1.key }) {
                let p = key.replacingOccurrences(of: ".", with: "/")
                guard f.exists(p) else {
                    warnings.append(
                        DataWarning(file: file, field: p, message: "no such interval set; its weight \(w) is ignored"))
                    continue
                }
                weights.append(WeightedIntervals(name: p, intervals: try readIntervals(p, f, catalog), weight: w))
            }
        } else {
            weights = phases.sorted { $0.key < $1.key }.compactMap { name, set in
                o.phaseWeights[name].map {
                    WeightedIntervals(name: "movement_phases/\(name)", intervals: set, weight: $0)
                }
            }
            if f.exists("cursor_outlier_segments") {
                weights.append(
                    WeightedIntervals(
                        name: "cursor_outlier_segments",
                        intervals: try readIntervals("cursor_outlier_segments", f, catalog),
                        weight: o.outlierWeight))
            }
        }
        return weights
    }

    /// Train, valid and test domains under the split rule (`auto`: the file's domains when it has
    /// them, else shuffled trials), and the rule used.
    static func splits(
        _ f: HDF5File, _ catalog: TemporalDataCatalog, _ o: ReaderOptions, domain: Intervals, trials: Intervals
    ) throws -> (rule: SplitRule, train: Intervals, valid: Intervals, test: Intervals) {
        let file = f.path
        var rule = o.split
        if rule == .auto { rule = f.exists("train_domain") ? .file : .trials70_10_20 }
        var train = Intervals()
        var valid = Intervals()
        var test = Intervals()
        if rule == .file {
            train = try readIntervals("train_domain", f, catalog)
            valid = try optionalIntervals("valid_domain", f, catalog)
            test = try optionalIntervals("test_domain", f, catalog)
        } else {
            var labels: [String]?
            for c in ["split_indicator", "split"] where labels == nil && f.exists("trials/\(c)") {
                labels = try f.readStrings("trials/\(c)")
            }
            (train, valid, test) = try splitDomains(
                rule, domain: domain, trials: trials, splitLabels: labels, file: file)
        }
        return (rule, train, valid, test)
    }

    // MARK: - Spikes

    /// `spikes/timestamps` (floating-point seconds) and `spikes/unit_index` (integers): 1-D, the same
    /// length, timed by `timestamps`.
    private static func spikeColumns(_ f: HDF5File, _ catalog: TemporalDataCatalog) throws -> (
        times: HDF5Dataset, units: HDF5Dataset
    ) {
        let file = f.path
        let tField = "spikes/timestamps"
        let uField = "spikes/unit_index"
        let tInfo = try f.typeInfo(tField)
        guard tInfo.typeClass == .float else {
            throw DataError.invalid(
                file: file, field: tField,
                reason: "expected floating-point seconds, found \(tInfo.typeClass) (\(tInfo.size)-byte)")
        }
        guard try f.typeClass(uField) == .integer else {
            throw DataError.invalid(
                file: file, field: uField, reason: "expected integers, found \(try f.typeClass(uField))")
        }
        let times = try HDF5Dataset(f, tField)
        let units = try HDF5Dataset(f, uField)
        guard times.shape.count == 1, units.shape.count == 1 else {
            throw DataError.invalid(
                file: file, field: tField, reason: "expected 1-D columns, found \(times.shape) and \(units.shape)")
        }
        guard units.count == times.count else {
            throw DataError.invalid(
                file: file, field: uField, reason: "\(units.count) entries for \(times.count) spikes")
        }
        if let keys = catalog["spikes"]?.timekeys, !keys.isEmpty, !keys.contains("timestamps") {
            throw DataError.invalid(
                file: file, field: "spikes/@timekeys", reason: "does not list \"timestamps\" (\(keys))")
        }
        return (times, units)
    }

    /// The file's 1 s index (`spikes/timestamp_indices_1s`) and its grid origin (the spikes' own domain
    /// start), when it has a usable one; its agreement with the spikes is checked by the scan.
    private static func secondIndex(_ f: HDF5File, domain: Intervals, spikeCount: Int) throws -> (
        origin: Double, offsets: [Int]
    )? {
        let indexField = "spikes/timestamp_indices_1s"
        guard f.exists(indexField), try f.typeClass(indexField) == .integer else { return nil }
        let origin =
            f.exists("spikes/domain/start") ? try f.readDoubles("spikes/domain/start").first : domain.items.first?.start
        guard let origin, origin.isFinite else { return nil }
        let raw = try f.readInt64s(indexField)
        guard raw.allSatisfy({ $0 >= 0 && $0 <= Int64(spikeCount) }) else { return nil }
        return (origin, raw.map { Int($0) })
    }

    /// Spikes in memory (arrays) or as a lazy source, spikes per unit, and the lookup used.
    private static func readSpikes(
        _ f: HDF5File, _ catalog: TemporalDataCatalog, domain: Intervals, unitCount: Int,
        options o: ReaderOptions, warnings: inout [DataWarning]
    )
        throws -> ([Double], [Int32], (any SpikeSource)?, [Int], String)
    {
        let file = f.path
        let tField = "spikes/timestamps"
        let (times, units) = try spikeColumns(f, catalog)
        let offset = catalog.offset(of: "spikes")

        let indexField = "spikes/timestamp_indices_1s"
        let index = try secondIndex(f, domain: domain, spikeCount: times.count)
        let scanDomain = Intervals(domain.items.map { Interval($0.start - offset, $0.end - offset) })
        let scan = try SortedSpikeFile.scan(
            times: times, units: units, unitCount: unitCount, domain: scanDomain, index: index)
        if scan.outsideDomain > 0 {
            let d = domain.items.map { String(format: "[%g, %g)", $0.start, $0.end) }.joined(separator: " ∪ ")
            warnings.append(
                DataWarning(
                    file: file, field: tField,
                    message:
                        "\(scan.outsideDomain) spike(s) lie outside the domain \(d); ignored (no window covers them)"))
        }
        let source = SortedSpikeFile(
            times: times, units: units, unitCount: unitCount,
            secondIndex: scan.indexMatches == true ? index : nil)
        if !scan.sorted, let (i, t, p) = scan.firstUnsorted {
            warnings.append(
                DataWarning(
                    file: file, field: tField,
                    message: "not sorted (entry \(i) = \(t) < \(p)); sorted in memory (\(times.count) spikes, all read)"
                ))
            var (t, u) = try source.allSpikes()
            sortSpikes(&t, &u)
            if offset != 0 { t = t.map { $0 + offset } }
            return (t, u, nil, scan.perUnit, "in memory (sorted on load)")
        }
        if index != nil && scan.indexMatches == false {
            warnings.append(
                DataWarning(
                    file: file, field: indexField,
                    message:
                        "does not match spikes/timestamps (first at second \(scan.firstIndexMismatch ?? 0)); "
                        + "ignored, windows use binary search"
                ))
        }
        if o.lazySpikes && offset == 0 {
            return ([], [], source, scan.perUnit, source.lookup)
        }
        var (t, u) = try source.allSpikes()
        if offset != 0 { t = t.map { $0 + offset } }
        return (t, u, nil, scan.perUnit, "in memory")
    }

    // MARK: - Behaviour

    struct Behaviour {
        var times: [Double], values: [Float], dim: Int
        var column: String, derivedFrom: String?, nonFinite: Int
    }

    /// The behaviour group and column to decode (see `ReaderOptions.behaviour`).
    static func behaviourGroup(_ f: HDF5File, _ catalog: TemporalDataCatalog, _ o: ReaderOptions) throws -> (
        String, String
    ) {
        if let spec = o.behaviour {
            let parts = spec.replacingOccurrences(of: ".", with: "/").split(separator: "/").map(String.init)
            if parts.count >= 2, f.exists(parts.joined(separator: "/")), !f.isGroup(parts.joined(separator: "/")) {
                return (parts.dropLast().joined(separator: "/"), parts.last!)
            }
            return (parts.joined(separator: "/"), "vel")
        }
        for g in ["cursor", "hand", "finger"] where f.exists("\(g)/vel") || f.exists("\(g)/pos") { return (g, "vel") }
        return ("cursor", "vel")
    }

    private static func readBehaviour(
        _ f: HDF5File, _ catalog: TemporalDataCatalog, group g: String, column: String,
        warnings: inout [DataWarning]
    ) throws -> Behaviour {
        let file = f.path
        let kind = catalog[g]?.kind
        guard kind == nil || kind == .irregular || kind == .regular else {
            throw DataError.invalid(
                file: file, field: g, reason: "expected a time series, found \"\(catalog[g]?.objectAttribute ?? "?")\"")
        }
        var field = "\(g)/\(column)"
        var derivedFrom: String?
        if !f.exists(field), column == "vel", f.exists("\(g)/pos") {
            field = "\(g)/pos"
            derivedFrom = "pos"
        }
        let shape = try f.shape(field)
        guard shape.count == 2 || shape.count == 1, shape.count == 1 || (1...64).contains(shape[1]) else {
            throw DataError.invalid(file: file, field: field, reason: "expected shape [T, D], found \(shape)")
        }
        let count = shape[0]
        let dim = shape.count == 2 ? shape[1] : 1
        guard try f.typeClass(field) == .float || f.typeClass(field) == .integer else {
            throw DataError.invalid(
                file: file, field: field, reason: "expected numbers, found \(try f.typeClass(field))")
        }
        var values = try f.readFloats(field)
        let offset = catalog.offset(of: g)
        var times: [Double]
        if kind == .regular || (kind == nil && f.hasAttribute("sampling_rate", at: g) && !f.exists("\(g)/timestamps")) {
            let rate = try f.attributeDouble("sampling_rate", at: g)
            guard rate > 0, rate.isFinite, rate < 1e7 else {
                throw DataError.invalid(
                    file: file, field: "\(g)/@sampling_rate", reason: "must be positive, found \(rate)")
            }
            let start = f.exists("\(g)/domain") ? try readIntervals("\(g)/domain", f, catalog).items.first?.start : nil
            let t0 = start ?? 0
            times = (0..<count).map { t0 + Double($0) / rate }
        } else {
            if let keys = catalog[g]?.timekeys, !keys.isEmpty, !keys.contains("timestamps") {
                throw DataError.invalid(
                    file: file, field: "\(g)/@timekeys", reason: "does not list \"timestamps\" (\(keys))")
            }
            times = try f.readDoubles("\(g)/timestamps").map { $0 + offset }
        }
        guard times.count == count else {
            throw DataError.invalid(file: file, field: field, reason: "\(count) samples for \(times.count) timestamps")
        }
        let nonFinite: Int
        (values, nonFinite) = try finishBehaviour(
            values, times: times, dim: dim, timesField: "\(g)/timestamps",
            derivedNote: derivedFrom == nil
                ? nil : "no '\(g)/vel'; velocity derived from position by central differences",
            file: file, field: field, warnings: &warnings)
        // `pos` beside `vel` is not read: nothing trains or scores on it, and at a thousand sessions
        // its copy was 300 MB of a run's memory (issue 24).
        return Behaviour(
            times: times, values: values, dim: dim, column: derivedFrom == nil ? column : "vel",
            derivedFrom: derivedFrom, nonFinite: nonFinite)
    }

    /// Every time series other than `spikes`, with column shapes and rates.
    private static func behaviourSeries(
        _ f: HDF5File, _ catalog: TemporalDataCatalog,
        known: (String, [Double])
    ) throws -> [BehaviourSeries] {
        var out: [BehaviourSeries] = []
        for obj in (catalog.all(.irregular) + catalog.all(.regular)).sorted(by: { $0.path < $1.path })
        where obj.path != "spikes" {
            var columns: [String: [Int]] = [:]
            for c in obj.columns where c != "timestamp_indices_1s" { columns[c] = try f.shape("\(obj.path)/\(c)") }
            var rate = obj.samplingRate
            if obj.kind == .irregular {
                if obj.path == known.0 {
                    rate = estimatedRate(known.1)
                } else if (columns["timestamps"]?.first ?? 0) <= 10_000_000 {
                    rate = estimatedRate(try f.readDoubles("\(obj.path)/timestamps"))
                }
            }
            out.append(BehaviourSeries(name: obj.path, kind: obj.kind?.rawValue ?? "?", rateHz: rate, columns: columns))
        }
        return out
    }

    // MARK: - Intervals

    private static func evalIntervals(
        _ f: HDF5File, _ catalog: TemporalDataCatalog, _ o: ReaderOptions,
        phases: [String: Intervals]
    ) throws -> (Intervals?, String) {
        if let name = o.evalIntervals {
            if ["all", "none", ""].contains(name) { return (nil, "all samples") }
            let p = name.replacingOccurrences(of: ".", with: "/")
            return (try readIntervals(p, f, catalog), p)
        }
        if let phase = o.evalPhase, let set = phases[phase] { return (set, "movement_phases/\(phase)") }
        if f.exists("nlb_eval_intervals") {
            return (try readIntervals("nlb_eval_intervals", f, catalog), "nlb_eval_intervals")
        }
        return (nil, "all samples")
    }

    private static func expectKind(_ catalog: TemporalDataCatalog, _ p: String, _ kind: TDKind, _ file: String) throws {
        if let obj = catalog[p], let attr = obj.objectAttribute, obj.kind != kind {
            throw DataError.invalid(
                file: file, field: "\(p)/@object", reason: "is \"\(attr)\", expected \"\(kind.rawValue)\"")
        }
    }

    /// An `Interval` group's `start`/`end` columns, shifted by its enclosing `Data`'s `absolute_start`.
    static func readIntervals(_ p: String, _ f: HDF5File, _ catalog: TemporalDataCatalog? = nil) throws -> Intervals {
        if let catalog { try expectKind(catalog, p, .interval, f.path) }
        let starts = try f.readDoubles("\(p)/start")
        let ends = try f.readDoubles("\(p)/end")
        guard starts.count == ends.count else {
            throw DataError.invalid(file: f.path, field: p, reason: "\(starts.count) starts but \(ends.count) ends")
        }
        let offset = catalog?.offset(of: p) ?? 0
        for (s, e) in zip(starts, ends) where !(s.isFinite && e.isFinite && s <= e) {
            throw DataError.invalid(file: f.path, field: p, reason: "interval [\(s), \(e)) is not finite and ordered")
        }
        return Intervals(starts: starts.map { $0 + offset }, ends: ends.map { $0 + offset })
    }

    private static func optionalIntervals(_ p: String, _ f: HDF5File, _ catalog: TemporalDataCatalog) throws
        -> Intervals
    {
        f.exists(p) ? try readIntervals(p, f, catalog) : Intervals()
    }
}
