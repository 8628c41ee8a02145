import Foundation

/// What to read from a brainsets file and how to weight it; defaults follow Perich center-out.
public struct ReaderOptions: Sendable {
    /// Behaviour group and column: `cursor`/`vel` (Perich, synthetic) or `hand`/`vel` (NLB).
    public var behaviourGroup = "cursor"
    public var behaviourField = "vel"
    /// Loss weight of each `movement_phases` child (POYO-SPEC §4.3, Perich CO); others get none.
    public var phaseWeights: [String: Float] = [
        "hold_period": 0.1, "reach_period": 5.0, "return_period": 1.0, "random_period": 1.0, "invalid": 0.1,
    ]
    /// Weight of `cursor_outlier_segments` when present (Perich: 0).
    public var outlierWeight: Float = 0
    /// `movement_phases` child that forms the eval mask; if absent from a file, every sample is scored.
    public var evalPhase: String? = "reach_period"
    /// Overrides the file's normalisation std (e.g. 20 for Perich cursor velocity, POYO-SPEC §4.3).
    /// Files without `poyo_norm_std` and no override use mean 0, std 1.
    public var normalizationStd: Float?

    public init() {}
}

/// Reads one brainsets/temporaldata `.h5` recording (layout in `BrainsetsWriter`) into memory.
///
/// Required: `session` (attr `id`), `spikes/{timestamps,unit_index}`, `units/id`, `domain` and the
/// behaviour group (`cursor/{timestamps,vel}` by default). Optional: `subject` (else "unknown"),
/// `trials`, `movement_phases`, `cursor_outlier_segments`, the three split domains (else empty),
/// our `poyo_*` attributes. Each failure is a `DataError` naming the file and the field.
///
/// Reads whole datasets; lazy per-window reading can use `HDF5File`'s row-range reads and
/// `timestamp_indices_1s` later. Unit ids get the `"<session id>/"` prefix torch_brain adds on load.
public enum BrainsetsReader {
    public static func read(_ url: URL, options: ReaderOptions = ReaderOptions()) throws -> Recording {
        let f = try HDF5File(readingAt: url.path)
        let file = url.path
        for group in ["session", "spikes", "units", options.behaviourGroup, "domain"] where !f.exists(group) {
            throw DataError.missing(file: file, field: group)
        }
        let sessionID = try f.attributeString("id", at: "session")
        let subjectID = f.hasAttribute("id", at: "subject") ? try f.attributeString("id", at: "subject") : "unknown"
        let heldOut = f.hasAttribute(BrainsetsLayout.heldOutAttribute, at: "/")
            ? try f.attributeInt(BrainsetsLayout.heldOutAttribute, at: "/") != 0 : false
        let domain = try readIntervals("domain", f)

        let spikeTimes = try f.readDoubles("spikes/timestamps")
        let unitIndex = try f.readInt64s("spikes/unit_index")
        let localIDs = try f.readStrings("units/id")
        guard unitIndex.count == spikeTimes.count else {
            throw DataError.invalid(file: file, field: "spikes/unit_index",
                                    reason: "\(unitIndex.count) entries for \(spikeTimes.count) spikes")
        }
        var spikeUnit = [Int32](repeating: 0, count: unitIndex.count)
        for (i, u) in unitIndex.enumerated() {
            guard u >= 0, u < Int64(localIDs.count) else {
                throw DataError.invalid(file: file, field: "spikes/unit_index",
                                        reason: "spike \(i) has unit \(u), outside 0..<\(localIDs.count)")
            }
            spikeUnit[i] = Int32(u)
        }

        let (times, values, dim, position) = try readBehaviour(f, options)
        let (mean, std) = try readNormalization(f, options, dim: dim)

        var phases: [String: Intervals] = [:]
        if f.isGroup("movement_phases") {
            for name in try f.children(of: "movement_phases") where f.isGroup("movement_phases/\(name)") {
                phases[name] = try readIntervals("movement_phases/\(name)", f)
            }
        }
        var weights: [WeightedIntervals] = phases.sorted { $0.key < $1.key }.compactMap { name, set in
            options.phaseWeights[name].map { WeightedIntervals(name: "movement_phases/\(name)", intervals: set, weight: $0) }
        }
        if f.isGroup("cursor_outlier_segments") {
            weights.append(WeightedIntervals(name: "cursor_outlier_segments",
                                             intervals: try readIntervals("cursor_outlier_segments", f),
                                             weight: options.outlierWeight))
        }

        let recording = Recording(
            sessionID: sessionID, subjectID: subjectID, heldOut: heldOut, domain: domain,
            spikeTimes: spikeTimes, spikeUnit: spikeUnit, unitIDs: localIDs.map { "\(sessionID)/\($0)" },
            behaviourTimes: times, behaviour: values, behaviourDim: dim, position: position,
            normalizationMean: mean, normalizationStd: std,
            trials: try optionalIntervals("trials", f),
            movementPhases: phases,
            trainDomain: try optionalIntervals("train_domain", f),
            validDomain: try optionalIntervals("valid_domain", f),
            testDomain: try optionalIntervals("test_domain", f),
            lossWeights: weights,
            evalIntervals: options.evalPhase.flatMap { phases[$0] })
        try recording.validate(file: file)
        return recording
    }

    /// `[T]` times, `[T, dim]` values, dim, `[T, 2]` position (empty if absent).
    /// A `RegularTimeSeries` has no timestamps: `t_i = domain.start[0] + i / sampling_rate`.
    private static func readBehaviour(_ f: HDF5File, _ o: ReaderOptions) throws -> ([Double], [Float], Int, [Float]) {
        let g = o.behaviourGroup
        let field = "\(g)/\(o.behaviourField)"
        let shape = try f.shape(field)
        guard shape.count == 2 || shape.count == 1 else {
            throw DataError.invalid(file: f.path, field: field, reason: "expected shape [T, D], found \(shape)")
        }
        let count = shape[0], dim = shape.count == 2 ? shape[1] : 1
        let values = try f.readFloats(field)
        let times: [Double]
        if f.hasAttribute("object", at: g), try f.attributeString("object", at: g) == "RegularTimeSeries" {
            let rate = try f.attributeDouble("sampling_rate", at: g)
            guard rate > 0, rate.isFinite else {
                throw DataError.invalid(file: f.path, field: "\(g)/@sampling_rate", reason: "must be positive, found \(rate)")
            }
            let start = try readIntervals("\(g)/domain", f).items.first?.start ?? 0
            times = (0..<count).map { start + Double($0) / rate }
        } else {
            times = try f.readDoubles("\(g)/timestamps")
        }
        guard times.count == count else {
            throw DataError.invalid(file: f.path, field: field, reason: "\(count) samples for \(times.count) timestamps")
        }
        var position: [Float] = []
        if f.exists("\(g)/pos"), try f.shape("\(g)/pos") == [count, 2] {
            position = try f.readFloats("\(g)/pos")
        }
        return (times, values, dim, position)
    }

    private static func readNormalization(_ f: HDF5File, _ o: ReaderOptions, dim: Int) throws -> ([Float], [Float]) {
        let g = o.behaviourGroup
        var mean = [Float](repeating: 0, count: dim)
        var std = [Float](repeating: 1, count: dim)
        if f.hasAttribute(BrainsetsLayout.normMeanAttribute, at: g) {
            mean = try f.attributeDoubles(BrainsetsLayout.normMeanAttribute, at: g).map { Float($0) }
        }
        if f.hasAttribute(BrainsetsLayout.normStdAttribute, at: g) {
            std = try f.attributeDoubles(BrainsetsLayout.normStdAttribute, at: g).map { Float($0) }
        }
        if let s = o.normalizationStd { std = [Float](repeating: s, count: dim) }
        guard mean.count == dim, std.count == dim else {
            throw DataError.invalid(file: f.path, field: "\(g)/@\(BrainsetsLayout.normStdAttribute)",
                                    reason: "expected \(dim) values per statistic")
        }
        return (mean, std)
    }

    /// An `Interval` group's `start`/`end` columns.
    static func readIntervals(_ p: String, _ f: HDF5File) throws -> Intervals {
        let starts = try f.readDoubles("\(p)/start")
        let ends = try f.readDoubles("\(p)/end")
        guard starts.count == ends.count else {
            throw DataError.invalid(file: f.path, field: p, reason: "\(starts.count) starts but \(ends.count) ends")
        }
        return Intervals(starts: starts, ends: ends)
    }

    private static func optionalIntervals(_ p: String, _ f: HDF5File) throws -> Intervals {
        f.exists(p) ? try readIntervals(p, f) : Intervals()
    }
}
