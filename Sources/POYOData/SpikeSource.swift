import Foundation

/// Spikes kept in the file and read per window (docs/spec.md §1.2 "lazy" reading).
///
/// The file stays open; each window costs one or two hyperslab reads of about the window's own
/// spikes, so memory does not grow with the recording. Sources are checked in full when opened
/// (a streaming pass: sorted, finite, unit indices in range), so a window read cannot return a
/// silently wrong result later.
public protocol SpikeSource: AnyObject, Sendable {
    /// Number of spikes in the recording.
    var spikeCount: Int { get }
    /// The spikes with `start <= t < end` in time order (ties by unit): times and local unit
    /// indices. Units with `keep[u] == false` are left out.
    func spikes(from start: Double, to end: Double, keep: [Bool]?) throws -> (times: [Double], units: [Int32])
    /// Every spike, in time order (for `Recording.materialized()`).
    func allSpikes() throws -> (times: [Double], units: [Int32])
    /// Names the file and dataset (equality of lazy recordings).
    var identity: String { get }
    /// How a window's spikes are located: `timestamp_indices_1s`, `binary search`, `per-unit index`.
    var lookup: String { get }
    /// Range reads made and values read so far (tests check that no read is a whole array).
    var readCalls: Int { get }
    var elementsRead: Int { get }
}

/// Values per read when streaming a whole dataset (8 MiB of f64).
let scanChunk = 1 << 20

// MARK: - Time-sorted spikes (brainsets `spikes/timestamps` + `spikes/unit_index`)

/// A brainsets `spikes` group read per window: `timestamp_indices_1s` (when present and correct)
/// narrows a window to whole seconds, otherwise a binary search over the sorted on-disk times
/// finds its ends; then one hyperslab read per column.
public final class SortedSpikeFile: SpikeSource, @unchecked Sendable {
    let times: any NumericColumn
    let units: any NumericColumn
    let unitCount: Int
    /// `timestamp_indices_1s` and the grid origin (`spikes.domain.start[0]`), if usable.
    let secondIndex: (origin: Double, offsets: [Int])?

    init(
        times: any NumericColumn, units: any NumericColumn, unitCount: Int,
        secondIndex: (origin: Double, offsets: [Int])?
    ) {
        self.times = times
        self.units = units
        self.unitCount = unitCount
        self.secondIndex = secondIndex
    }

    public var spikeCount: Int { times.count }
    public var identity: String { times.identity }
    public var lookup: String { secondIndex == nil ? "binary search" : "timestamp_indices_1s" }
    public var readCalls: Int { times.readCalls + units.readCalls }
    public var elementsRead: Int { times.elementsRead + units.elementsRead }

    public func spikes(from start: Double, to end: Double, keep: [Bool]?) throws -> (times: [Double], units: [Int32]) {
        guard end > start, spikeCount > 0 else { return ([], []) }
        let (lo, hi) = try candidates(start, end)
        guard lo < hi else { return ([], []) }
        let t = try times.doubles(lo..<hi)
        let u = try units.int64s(lo..<hi)
        var outT: [Double] = []
        var outU: [Int32] = []
        let first = lowerBound(t, start)
        let last = lowerBound(t, end)
        outT.reserveCapacity(max(0, last - first))
        outU.reserveCapacity(max(0, last - first))
        for i in first..<max(first, last) {
            let k = u[i]
            guard k >= 0, k < Int64(unitCount) else {
                throw DataError.invalid(
                    file: units.filePath, field: units.field, reason: "spike \(lo + i) has unit \(k)")
            }
            if let keep, !keep[Int(k)] { continue }
            outT.append(t[i])
            outU.append(Int32(k))
        }
        return (outT, outU)
    }

    /// A range of rows that contains every spike in `[start, end)`.
    func candidates(_ start: Double, _ end: Double) throws -> (Int, Int) {
        if let (origin, offsets) = secondIndex, !offsets.isEmpty {
            let n = offsets.count
            // offsets[k] = first spike with t >= origin + k (numpy's arange grid: origin + k·1.0).
            var k0 = Int(max(0, min(Double(n - 1), (start - origin).rounded(.down))))
            while k0 > 0 && origin + Double(k0) > start { k0 -= 1 }
            var k1 = Int(max(0, min(Double(n), (end - origin).rounded(.up))))
            while k1 < n && origin + Double(k1) < end { k1 += 1 }
            let lo = start < origin ? 0 : offsets[k0]
            let hi = k1 >= n ? spikeCount : offsets[k1]
            return (lo, max(lo, hi))
        }
        let lo = try diskLowerBound(start)
        return (lo, max(lo, try diskLowerBound(end)))
    }

    /// First row whose time is `>= x`, by binary search with single-value reads.
    func diskLowerBound(_ x: Double) throws -> Int {
        var lo = 0
        var hi = spikeCount
        while lo < hi {
            let mid = (lo + hi) >> 1
            if try times.doubles(mid..<(mid + 1))[0] < x { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }

    public func allSpikes() throws -> (times: [Double], units: [Int32]) {
        var t: [Double] = []
        var u: [Int32] = []
        t.reserveCapacity(spikeCount)
        u.reserveCapacity(spikeCount)
        var at = 0
        while at < spikeCount {
            let r = at..<min(spikeCount, at + scanChunk)
            t += try times.doubles(r)
            u += try units.int64s(r).map { Int32(clamping: $0) }
            at = r.upperBound
        }
        return (t, u)
    }

    /// What the opening pass found.
    struct Scan {
        var sorted = true
        /// First out-of-order entry: index, its time, the previous time.
        var firstUnsorted: (Int, Double, Double)?
        var perUnit: [Int]
        var outsideDomain = 0
        /// Whether the file's second index matched the times (nil: no index to check).
        var indexMatches: Bool?
        var firstIndexMismatch: Int?
    }

    /// Streams both columns once: times finite (and sorted, noted), unit indices in range,
    /// spikes per unit, spikes outside `domain`, and whether `index` (if any) is right.
    static func scan(
        times: any NumericColumn, units: any NumericColumn, unitCount: Int, domain: Intervals,
        index: (origin: Double, offsets: [Int])?
    ) throws -> Scan {
        let n = times.count
        var s = Scan(perUnit: [Int](repeating: 0, count: unitCount))
        var previous = -Double.infinity
        var k = 0  // next grid point whose first spike we have not seen
        var indexOK = index != nil
        let domainItems = domain.merged().items
        var d = 0
        var at = 0
        while at < n {
            let r = at..<min(n, at + scanChunk)
            let t = try times.doubles(r)
            let u = try units.int64s(r)
            for j in 0..<t.count {
                let i = r.lowerBound + j
                let x = t[j]
                guard x.isFinite else {
                    throw DataError.invalid(file: times.filePath, field: times.field, reason: "entry \(i) is \(x)")
                }
                let unit = u[j]
                guard unit >= 0, unit < Int64(unitCount) else {
                    throw DataError.invalid(
                        file: units.filePath, field: units.field,
                        reason: "spike \(i) has unit \(unit), outside 0..<\(unitCount)")
                }
                s.perUnit[Int(unit)] += 1
                if x < previous && s.sorted {
                    s.sorted = false
                    s.firstUnsorted = (i, x, previous)
                }
                previous = max(previous, x)
                if s.sorted {
                    while d < domainItems.count && domainItems[d].end <= x { d += 1 }
                    if !(d < domainItems.count && domainItems[d].contains(x)) { s.outsideDomain += 1 }
                    if indexOK, let (origin, offsets) = index {
                        while k < offsets.count && origin + Double(k) <= x {
                            if offsets[k] != i {
                                indexOK = false
                                s.firstIndexMismatch = k
                                break
                            }
                            k += 1
                        }
                    }
                } else if !domain.contains(x) {
                    s.outsideDomain += 1
                }
            }
            at = r.upperBound
        }
        if indexOK, let (_, offsets) = index {
            while k < offsets.count {
                if offsets[k] != n {
                    indexOK = false
                    s.firstIndexMismatch = k
                    break
                }
                k += 1
            }
        }
        if index != nil { s.indexMatches = indexOK && s.sorted }
        return s
    }
}

// MARK: - Per-unit spikes (NWB `units/spike_times` + `units/spike_times_index`)

/// An NWB units table read per window. The flat `spike_times` array holds each unit's spikes in
/// turn (sorted within the unit), so a window needs a piece of every unit's segment: a per-unit
/// index of bucket offsets, built by the opening pass, finds the pieces, and one read (an OR of
/// hyperslabs) fetches them all. Spikes are then merged into time order.
public final class UnitSpikeFile: SpikeSource, @unchecked Sendable {
    let times: any NumericColumn
    /// `[U + 1]` start of each unit's segment in the flat array.
    let unitStart: [Int]
    /// Bucket grid: bucket `k` covers `[origin + k·width, origin + (k+1)·width)`, `k < buckets`.
    let origin: Double, width: Double, buckets: Int
    /// `[U, buckets + 1]`: spikes of unit `u` before bucket `k` (relative to `unitStart[u]`).
    let offsets: [Int32]

    init(times: any NumericColumn, unitStart: [Int], origin: Double, width: Double, buckets: Int, offsets: [Int32]) {
        self.times = times
        self.unitStart = unitStart
        self.origin = origin
        self.width = width
        self.buckets = buckets
        self.offsets = offsets
    }

    public var spikeCount: Int { unitStart.last ?? 0 }
    var unitCount: Int { unitStart.count - 1 }
    public var identity: String { times.identity }
    public var lookup: String { "per-unit index (\(width == 1 ? "1 s" : String(format: "%.0f s", width)) buckets)" }
    public var readCalls: Int { times.readCalls }
    public var elementsRead: Int { times.elementsRead }

    public func spikes(from start: Double, to end: Double, keep: [Bool]?) throws -> (times: [Double], units: [Int32]) {
        guard end > start, spikeCount > 0 else { return ([], []) }
        let stride = buckets + 1
        var k0 = Int(max(0, min(Double(buckets), ((start - origin) / width).rounded(.down))))
        while k0 > 0 && origin + Double(k0) * width > start { k0 -= 1 }
        var k1 = Int(max(0, min(Double(buckets), ((end - origin) / width).rounded(.up))))
        while k1 < buckets && origin + Double(k1) * width < end { k1 += 1 }
        var blocks: [Range<Int>] = []
        var owners: [Int32] = []
        for u in 0..<unitCount {
            if let keep, !keep[u] { continue }
            let lo = start < origin ? 0 : Int(offsets[u * stride + k0])
            let hi = Int(offsets[u * stride + k1])
            if hi > lo {
                blocks.append((unitStart[u] + lo)..<(unitStart[u] + hi))
                owners.append(Int32(u))
            }
        }
        let values = try times.doubles(blocks: blocks)
        var pairs: [(Double, Int32)] = []
        var at = 0
        for (b, u) in zip(blocks, owners) {
            for t in values[at..<(at + b.count)] where t >= start && t < end { pairs.append((t, u)) }
            at += b.count
        }
        pairs.sort { $0.0 < $1.0 || ($0.0 == $1.0 && $0.1 < $1.1) }
        return (pairs.map(\.0), pairs.map(\.1))
    }

    public func allSpikes() throws -> (times: [Double], units: [Int32]) {
        try UnitSpikeFile.readAll(times: times, unitStart: unitStart, sort: true)
    }

    /// Every spike with its unit, sorted by (time, unit) when `sort`.
    static func readAll(times: any NumericColumn, unitStart: [Int], sort: Bool) throws -> (
        times: [Double], units: [Int32]
    ) {
        let n = unitStart.last ?? 0
        var pairs: [(Double, Int32)] = []
        pairs.reserveCapacity(n)
        var u = 0
        var at = 0
        while at < n {
            let r = at..<min(n, at + scanChunk)
            let t = try times.doubles(r)
            for (j, x) in t.enumerated() {
                while u + 1 < unitStart.count && unitStart[u + 1] <= r.lowerBound + j { u += 1 }
                pairs.append((x, Int32(u)))
            }
            at = r.upperBound
        }
        if sort { pairs.sort { $0.0 < $1.0 || ($0.0 == $1.0 && $0.1 < $1.1) } }
        return (pairs.map(\.0), pairs.map(\.1))
    }

    struct Scan {
        var perUnit: [Int]
        /// First unit with spikes out of order: unit, entry, time, previous time.
        var firstUnsorted: (Int, Int, Double, Double)?
        var minTime = Double.infinity, maxTime = -Double.infinity
    }

    /// Streams `spike_times` once: finite, sorted within each unit (noted), per-unit counts and,
    /// when every unit is sorted, the bucket offsets for the grid given.
    static func scan(
        times: any NumericColumn, unitStart: [Int], origin: Double, width: Double, buckets: Int,
        offsets: inout [Int32]
    ) throws -> Scan {
        let unitCount = unitStart.count - 1
        var s = Scan(perUnit: (0..<unitCount).map { unitStart[$0 + 1] - unitStart[$0] })
        let stride = buckets + 1
        let n = unitStart.last ?? 0
        var u = 0
        var previous = -Double.infinity
        var k = 0  // next bucket boundary of unit u not yet passed
        func finishUnit() {
            guard u < unitCount else { return }
            let count = Int32(unitStart[u + 1] - unitStart[u])
            while k <= buckets {
                offsets[u * stride + k] = count
                k += 1
            }
        }
        while u < unitCount && unitStart[u + 1] == 0 {
            finishUnit()
            u += 1
            k = 0
        }
        var at = 0
        while at < n {
            let r = at..<min(n, at + scanChunk)
            let t = try times.doubles(r)
            for j in 0..<t.count {
                let x = t[j]
                let i = r.lowerBound + j
                while u < unitCount && unitStart[u + 1] <= i {
                    finishUnit()
                    u += 1
                    k = 0
                    previous = -Double.infinity
                }
                guard x.isFinite else {
                    throw DataError.invalid(file: times.filePath, field: times.field, reason: "entry \(i) is \(x)")
                }
                if x < s.minTime { s.minTime = x }
                if x > s.maxTime { s.maxTime = x }
                if x < previous {
                    if s.firstUnsorted == nil { s.firstUnsorted = (u, i, x, previous) }
                } else {
                    previous = x
                }
                if s.firstUnsorted == nil {
                    while k <= buckets && origin + Double(k) * width <= x {
                        offsets[u * stride + k] = Int32(i - unitStart[u])
                        k += 1
                    }
                }
            }
            at = r.upperBound
        }
        while u < unitCount {
            finishUnit()
            u += 1
            k = 0
        }
        return s
    }
}
