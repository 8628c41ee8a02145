import Foundation

extension NWBReader {
    // MARK: - Behaviour

    struct Behaviour {
        var path: String, times: [Double], values: [Float], dim: Int, derivedFrom: String?, nonFinite: Int
    }

    static let behaviourRoots = ["processing/behavior", "processing/behaviour"]

    /// The path of the series `name` (under `processing/behavior`, possibly in a container, or a
    /// full path); nil when absent.
    /// `…/hand_pos` → `…/hand_vel`: the name that reads the velocity derived from a position series.
    static func velocityName(ofPositionSeries path: String) -> String {
        path.hasSuffix("_pos") ? String(path.dropLast(4)) + "_vel" : path
    }

    static func findSeries(_ f: HDF5File, _ name: String) throws -> String? {
        if name.contains("/"), f.exists("\(name)/data") { return name }
        for r in behaviourRoots where f.isGroup(r) {
            if f.exists("\(r)/\(name)/data") { return "\(r)/\(name)" }
            for c in try f.children(of: r) where f.isGroup("\(r)/\(c)") && f.exists("\(r)/\(c)/\(name)/data") {
                return "\(r)/\(c)/\(name)"
            }
        }
        return nil
    }

    /// Finds the series to decode: the option (a name under `processing/behavior`, possibly in a
    /// container, or a full path), else the first velocity series, else a position series.
    static func resolveSeries(_ f: HDF5File, _ o: ReaderOptions) throws -> (path: String, derive: Bool) {
        let roots = behaviourRoots.filter { f.isGroup($0) }
        func find(_ name: String) throws -> String? { try findSeries(f, name) }
        if let want = o.behaviour {
            if let p = try find(want) { return (p, false) }
            if want.hasSuffix("_vel"), let p = try find(String(want.dropLast(4)) + "_pos") { return (p, true) }
            throw DataError.missing(
                file: f.path, field: want.contains("/") ? want : "\(roots.first ?? "processing/behavior")/\(want)")
        }
        for name in velocityNames { if let p = try find(name) { return (p, false) } }
        for name in velocityNames { if let p = try find(String(name.dropLast(4)) + "_pos") { return (p, true) } }
        throw DataError.missing(file: f.path, field: roots.isEmpty ? "processing/behavior" : "\(roots[0])/hand_vel")
    }

    static func readBehaviour(_ f: HDF5File, _ o: ReaderOptions, warnings: inout [DataWarning]) throws -> Behaviour {
        let file = f.path
        let (p, derive) = try resolveSeries(f, o)
        let shape = try f.shape("\(p)/data")
        guard shape.count == 1 || (shape.count == 2 && (1...64).contains(shape[1])) else {
            throw DataError.invalid(file: file, field: "\(p)/data", reason: "expected shape [T, D], found \(shape)")
        }
        guard try f.typeClass("\(p)/data") == .float || f.typeClass("\(p)/data") == .integer else {
            throw DataError.invalid(
                file: file, field: "\(p)/data", reason: "expected numbers, found \(try f.typeClass("\(p)/data"))")
        }
        let count = shape[0]
        let dim = shape.count == 2 ? shape[1] : 1
        var values = try f.readFloats("\(p)/data")
        let conversion =
            f.hasAttribute("conversion", at: "\(p)/data") ? try f.attributeDouble("conversion", at: "\(p)/data") : 1
        let shift = f.hasAttribute("offset", at: "\(p)/data") ? try f.attributeDouble("offset", at: "\(p)/data") : 0
        guard conversion.isFinite, conversion != 0, shift.isFinite else {
            throw DataError.invalid(
                file: file, field: "\(p)/data/@conversion", reason: "conversion \(conversion), offset \(shift)")
        }
        if conversion != 1 || shift != 0 { values = values.map { Float(Double($0) * conversion + shift) } }
        let times = try seriesTimes(f, p, count: count)
        let nonFinite: Int
        (values, nonFinite) = try finishBehaviour(
            values, times: times, dim: dim,
            timesField: f.exists("\(p)/timestamps") ? "\(p)/timestamps" : "\(p)/starting_time",
            derivedNote: derive
                ? "no velocity series; velocity derived from this position by central differences" : nil,
            file: file, field: p, warnings: &warnings)
        return Behaviour(
            path: derive ? "\(p) (differentiated)" : p, times: times, values: values, dim: dim,
            derivedFrom: derive ? p : nil, nonFinite: nonFinite)
    }

    /// `timestamps`, or `starting_time + i / rate`.
    static func seriesTimes(_ f: HDF5File, _ p: String, count: Int) throws -> [Double] {
        if f.exists("\(p)/timestamps") {
            let t = try f.readDoubles("\(p)/timestamps")
            guard t.count == count else {
                throw DataError.invalid(
                    file: f.path, field: "\(p)/timestamps", reason: "\(t.count) timestamps for \(count) samples")
            }
            return t
        }
        guard f.exists("\(p)/starting_time") else { throw DataError.missing(file: f.path, field: "\(p)/timestamps") }
        let start = try f.readDoubles("\(p)/starting_time")
        let rate = try f.attributeDouble("rate", at: "\(p)/starting_time")
        guard start.count == 1, start[0].isFinite else {
            throw DataError.invalid(file: f.path, field: "\(p)/starting_time", reason: "expected one finite number")
        }
        guard rate.isFinite, rate > 0, rate < 1e7 else {
            throw DataError.invalid(
                file: f.path, field: "\(p)/starting_time/@rate", reason: "must be positive, found \(rate)")
        }
        return (0..<count).map { start[0] + Double($0) / rate }
    }

    /// Every TimeSeries under `processing/behavior` (one container level deep).
    static func behaviourSeries(_ f: HDF5File) throws -> [BehaviourSeries] {
        var out: [BehaviourSeries] = []
        func add(_ p: String) throws {
            guard f.exists("\(p)/data") else { return }
            let shape = try f.shape("\(p)/data")
            var rate: Double?
            var kind = "TimeSeries (timestamps)"
            if f.exists("\(p)/timestamps") {
                let n = try f.shape("\(p)/timestamps").first ?? 0
                if n <= 10_000_000 { rate = estimatedRate(try f.readDoubles("\(p)/timestamps")) }
            } else if f.exists("\(p)/starting_time") {
                kind = "TimeSeries (starting_time + rate)"
                rate =
                    f.hasAttribute("rate", at: "\(p)/starting_time")
                    ? try f.attributeDouble("rate", at: "\(p)/starting_time") : nil
            }
            out.append(BehaviourSeries(name: p, kind: kind, rateHz: rate, columns: ["data": shape]))
        }
        for r in behaviourRoots where f.isGroup(r) {
            for c in try f.children(of: r) where f.isGroup("\(r)/\(c)") {
                if f.exists("\(r)/\(c)/data") {
                    try add("\(r)/\(c)")
                } else {
                    for g in try f.children(of: "\(r)/\(c)") where f.isGroup("\(r)/\(c)/\(g)") {
                        try add("\(r)/\(c)/\(g)")
                    }
                }
            }
        }
        return out
    }
}
