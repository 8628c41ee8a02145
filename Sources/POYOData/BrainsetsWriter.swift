import Foundation

/// Writes a `Recording` as one brainsets/temporaldata `.h5` file (docs/spec.md §1.2).
///
/// Layout (root is a `Data` group; every group carries an `object` attribute):
/// ```
/// /                      Data      attrs absolute_start, poyo_held_out (ours, see below)
/// /session, /subject     Data      attr id
/// /domain                Interval  start, end
/// /spikes                IrregularTimeSeries  timestamps f64 [S], unit_index i64 [S],
///                                  timestamp_indices_1s i64, domain
/// /units                 ArrayDict id S-bytes [U] (local ids), count i64 [U]
/// /cursor                IrregularTimeSeries  timestamps f64 [T], vel f64 [T,2], pos f64 [T,2],
///                                  timestamp_indices_1s, domain; attrs poyo_norm_mean/std (ours)
/// /movement_phases/<name> Interval (hold_period, reach_period, return_period, ...)
/// /movement_phases/domain Interval  the union of the phases (temporaldata needs a domain here)
/// /trials, /train_domain, /valid_domain, /test_domain   Interval
/// ```
/// Extensions (not written by brainsets, ignored by torch_brain):
/// - root attr `poyo_held_out` (i64, 1 = session kept out of pre-training, "new animal");
/// - `cursor` attrs `poyo_norm_mean`, `poyo_norm_std` (f64 `[2]`): the target normalisation.
/// Loss weights and the eval mask are not stored: the reader derives them from `movement_phases`.
public enum BrainsetsWriter {
    /// Writes to a hidden temporary file beside `url`, then renames it, so a failure never leaves
    /// a half-written recording under the real name.
    public static func write(_ recording: Recording, to url: URL) throws {
        let r = try recording.materialized()  // a lazy recording's spikes are read whole first
        try r.validate(file: url.path)
        let tmp = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).tmp")
        do {
            try writeContents(r, path: tmp.path)  // the file is closed when this returns
        } catch {
            try? FileManager.default.removeItem(at: tmp)
            throw error
        }
        guard rename(tmp.path, url.path) == 0 else {
            try? FileManager.default.removeItem(at: tmp)
            throw DataError.io(path: url.path, reason: "cannot rename the temporary file into place (errno \(errno))")
        }
    }

    static func writeContents(_ r: Recording, path: String) throws {
        let f = try HDF5File(creatingAt: path)

        try f.setAttribute("object", string: "Data", at: "/")
        try f.setAttribute("absolute_start", double: 0, at: "/")
        try f.setAttribute(BrainsetsLayout.heldOutAttribute, int: r.heldOut ? 1 : 0, at: "/")
        for (group, id) in [("session", r.sessionID), ("subject", r.subjectID)] {
            try f.createGroup(group)
            try f.setAttribute("object", string: "Data", at: group)
            try f.setAttribute("absolute_start", double: 0, at: group)
            try f.setAttribute("id", string: id, at: group)
        }
        try writeIntervals(r.domain, to: "domain", in: f)

        // spikes
        try beginTimeSeries("spikes", domain: r.domain, in: f)
        try f.write(r.spikeTimes, to: "spikes/timestamps")
        try f.write(r.spikeUnit.map { Int64($0) }, to: "spikes/unit_index")
        try f.write(secondIndex(r.spikeTimes, domain: r.domain), to: "spikes/timestamp_indices_1s")

        // units: local ids (the global prefix is added back on load)
        try f.createGroup("units")
        try f.setAttribute("object", string: "ArrayDict", at: "units")
        try f.setAttribute("_unicode_keys", bytesArray: ["id"], at: "units")
        let prefix = r.unitPrefix
        try f.write(
            strings: r.unitIDs.map { $0.hasPrefix(prefix) ? String($0.dropFirst(prefix.count)) : $0 },
            to: "units/id")
        var counts = [Int64](repeating: 0, count: r.unitCount)
        for u in r.spikeUnit where u >= 0 && Int(u) < counts.count { counts[Int(u)] += 1 }
        try f.write(counts, to: "units/count")

        // cursor
        try beginTimeSeries("cursor", domain: r.domain, in: f)
        try f.write(r.behaviourTimes, to: "cursor/timestamps")
        try f.write(r.behaviour.map { Double($0) }, shape: [r.sampleCount, r.behaviourDim], to: "cursor/vel")
        if !r.position.isEmpty {
            try f.write(r.position.map { Double($0) }, shape: [r.sampleCount, 2], to: "cursor/pos")
        }
        try f.write(secondIndex(r.behaviourTimes, domain: r.domain), to: "cursor/timestamp_indices_1s")
        try f.setAttribute(
            BrainsetsLayout.normMeanAttribute, doubles: r.normalizationMean.map { Double($0) }, at: "cursor")
        try f.setAttribute(
            BrainsetsLayout.normStdAttribute, doubles: r.normalizationStd.map { Double($0) }, at: "cursor")

        if !r.movementPhases.isEmpty {
            try f.createGroup("movement_phases")
            try f.setAttribute("object", string: "Data", at: "movement_phases")
            try f.setAttribute("absolute_start", double: 0, at: "movement_phases")
            for (name, set) in r.movementPhases.sorted(by: { $0.key < $1.key }) {
                try writeIntervals(set, to: "movement_phases/\(name)", in: f)
            }
            // A Data group with time-based children needs its own domain for temporaldata /
            // torch_brain to read it (brainsets writes one): the span of its phases.
            let covered = r.movementPhases.values.reduce(Intervals()) { $0.union($1) }
            try writeIntervals(covered, to: "movement_phases/domain", in: f)
        }
        try writeIntervals(r.trials, to: "trials", in: f)
        try writeIntervals(r.trainDomain, to: "train_domain", in: f)
        try writeIntervals(r.validDomain, to: "valid_domain", in: f)
        try writeIntervals(r.testDomain, to: "test_domain", in: f)
    }

    /// An `Interval` group: `start`, `end` and temporaldata's bookkeeping attributes.
    static func writeIntervals(_ set: Intervals, to p: String, in f: HDF5File) throws {
        try f.createGroup(p)
        try f.setAttribute("object", string: "Interval", at: p)
        try f.setAttribute("timekeys", bytesArray: ["start", "end"], at: p)
        try f.setAttribute("_unicode_keys", bytesArray: [], at: p)
        try f.write(set.starts, to: "\(p)/start")
        try f.write(set.ends, to: "\(p)/end")
    }

    /// An `IrregularTimeSeries` group with its attributes and `domain`; columns are added by the caller.
    static func beginTimeSeries(_ p: String, domain: Intervals, in f: HDF5File) throws {
        try f.createGroup(p)
        try f.setAttribute("object", string: "IrregularTimeSeries", at: p)
        try f.setAttribute("timekeys", bytesArray: ["timestamps"], at: p)
        try f.setAttribute("_unicode_keys", bytesArray: [], at: p)
        try writeIntervals(domain, to: "\(p)/domain", in: f)
    }

    /// `searchsorted(timestamps, arange(domain.start[0], domain.end[-1] + 1, 1.0))`: the 1 s index
    /// temporaldata uses for lazy range reads.
    static func secondIndex(_ times: [Double], domain: Intervals) -> [Int64] {
        guard let first = domain.items.first?.start, let last = domain.items.last?.end else { return [] }
        let n = Int(((last + 1 - first) / 1.0).rounded(.up))
        return (0..<max(0, n)).map { Int64(lowerBound(times, first + Double($0))) }
    }
}

/// Names of the attributes we add to the brainsets layout.
public enum BrainsetsLayout {
    public static let heldOutAttribute = "poyo_held_out"
    public static let normMeanAttribute = "poyo_norm_mean"
    public static let normStdAttribute = "poyo_norm_std"
}
