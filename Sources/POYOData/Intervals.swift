/// A half-open time interval `[start, end)` in seconds.
public struct Interval: Hashable, Sendable {
    public var start: Double
    public var end: Double

    public init(_ start: Double, _ end: Double) {
        self.start = start
        self.end = end
    }

    public var length: Double { end - start }

    /// `start <= t < end`, the rule temporaldata's `isin_interval` uses.
    @inlinable public func contains(_ t: Double) -> Bool { t >= start && t < end }
}

/// A set of intervals (temporaldata's `Interval` object without extra columns).
///
/// Most sets are sorted and disjoint (domains, splits, movement phases); for those `contains` is a
/// binary search. Set operations (`union`, `dilated`, `subtracting`) return sorted, disjoint sets.
public struct Intervals: Equatable, Sendable, RandomAccessCollection {
    public private(set) var items: [Interval]
    /// Sorted by start with no overlaps, so `contains` may binary-search.
    public private(set) var isSortedDisjoint: Bool

    public init(_ items: [Interval] = []) {
        self.items = items
        var ok = true
        for i in items.indices.dropFirst() where items[i].start < items[i - 1].end {
            ok = false
            break
        }
        self.isSortedDisjoint = ok
    }

    /// Pairs `start[i], end[i]`; the arrays must have equal length (extra elements are ignored).
    public init(starts: [Double], ends: [Double]) {
        self.init(zip(starts, ends).map { Interval($0, $1) })
    }

    public var startIndex: Int { 0 }
    public var endIndex: Int { items.count }
    public subscript(i: Int) -> Interval { items[i] }

    public var starts: [Double] { items.map(\.start) }
    public var ends: [Double] { items.map(\.end) }
    public var totalLength: Double { items.reduce(0) { $0 + $1.length } }

    /// Whether any interval contains `t` (half-open).
    public func contains(_ t: Double) -> Bool {
        guard isSortedDisjoint else { return items.contains { $0.contains(t) } }
        // Last interval whose start <= t.
        var lo = 0
        var hi = items.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if items[mid].start <= t { lo = mid + 1 } else { hi = mid }
        }
        return lo > 0 && t < items[lo - 1].end
    }

    /// Sorted by start (ties by end), overlaps kept.
    public func sorted() -> Intervals {
        Intervals(items.sorted { ($0.start, $0.end) < ($1.start, $1.end) })
    }

    /// Merges overlapping or touching intervals; drops empty ones.
    public func merged() -> Intervals {
        var out: [Interval] = []
        for iv in sorted().items where iv.end > iv.start {
            if let last = out.last, iv.start <= last.end {
                out[out.count - 1].end = Swift.max(last.end, iv.end)
            } else {
                out.append(iv)
            }
        }
        return Intervals(out)
    }

    public func union(_ other: Intervals) -> Intervals {
        Intervals(items + other.items).merged()
    }

    /// Every interval grown by `margin` on both sides, then merged.
    public func dilated(by margin: Double) -> Intervals {
        Intervals(items.map { Interval($0.start - margin, $0.end + margin) }).merged()
    }

    /// Set difference `self − other` (temporaldata's `Interval.difference`).
    public func subtracting(_ other: Intervals) -> Intervals {
        let cut = other.merged().items
        var out: [Interval] = []
        for iv in merged().items {
            var cursor = iv.start
            for c in cut where c.end > cursor && c.start < iv.end {
                if c.start > cursor { out.append(Interval(cursor, c.start)) }
                cursor = Swift.max(cursor, c.end)
            }
            if cursor < iv.end { out.append(Interval(cursor, iv.end)) }
        }
        return Intervals(out)
    }
}

/// Index of the first element of ascending `a` that is `>= x` (numpy `searchsorted(side="left")`).
func lowerBound(_ a: [Double], _ x: Double) -> Int {
    var lo = 0
    var hi = a.count
    while lo < hi {
        let mid = (lo + hi) >> 1
        if a[mid] < x { lo = mid + 1 } else { hi = mid }
    }
    return lo
}
