import POYOData

/// Spike counts in bins of `bin` seconds placed on a sample time t: the Wiener filter's inputs.
///
/// Past bin j (0..<past) counts the spikes in `[t − (j+1)·bin, t − j·bin)`. Bin 0, the current bin,
/// ends at t, so no past bin sees a spike at or after t (the causal filter). Future bin j
/// (0..<future) counts `[t + j·bin, t + (j+1)·bin)`: the acausal filter's look-ahead (POYO's window
/// sees spikes after t too). Bins sit on each sample's own time rather than on a fixed grid, so
/// "ends at t" holds exactly for every sample.
///
/// A row is bin-major: past bin 0's units, past bin 1's, …, then future bin 0's, …; a shorter
/// history of the same horizon-free design is therefore a leading block of columns, which lets one
/// Cholesky factor solve every history (`LinearAlgebra.Cholesky`).
public struct SpikeBins: Sendable {
    public let bin: Double
    public let units: Int
    /// `[units][spikes]` each unit's spike times, ascending.
    let times: [[Double]]

    public init(unitSpikes: [[Double]], bin: Double) {
        self.bin = bin
        self.units = unitSpikes.count
        self.times = unitSpikes.map { $0.sorted() }
    }

    /// Every spike of `r` (a lazy recording is read whole once), split by unit.
    public init(_ r: Recording, bin: Double) throws {
        let start = r.domain.items.map(\.start).min() ?? 0
        let end = r.domain.items.map(\.end).max() ?? start
        let (t, u) = try r.windowSpikes(from: start, to: end.nextUp)
        var perUnit = [[Double]](repeating: [], count: r.unitCount)
        for (time, unit) in zip(t, u) where Int(unit) < r.unitCount { perUnit[Int(unit)].append(time) }
        self.init(unitSpikes: perUnit, bin: bin)
    }

    /// Columns of a row with `past` and `future` bins.
    public func columns(past: Int, future: Int) -> Int { (past + future) * units }

    /// Writes the counts at time `t` into `row` (`columns(past:future:)` values).
    public func row(at t: Double, past: Int, future: Int, into row: UnsafeMutablePointer<Double>) {
        let width = columns(past: past, future: future)
        row.update(repeating: 0, count: width)
        let from = t - Double(past) * bin
        let to = t + Double(future) * bin
        for u in 0..<units {
            let s = times[u]
            var i = lowerBound(s, from)
            while i < s.count && s[i] < to {
                let x = s[i]
                i += 1
                let slot: Int
                if x < t {
                    // x in [t − (j+1)·bin, t − j·bin) ⇔ (t − x)/bin in (j, j+1].
                    slot = min(max(Int(((t - x) / bin).rounded(.up)) - 1, 0), past - 1)
                } else {
                    slot = past + min(Int(((x - t) / bin).rounded(.down)), future - 1)
                }
                row[slot * units + u] += 1
            }
        }
    }

    /// Index of the first element of ascending `a` that is `>= x`.
    private func lowerBound(_ a: [Double], _ x: Double) -> Int {
        var lo = 0
        var hi = a.count
        while lo < hi {
            let mid = (lo + hi) >> 1
            if a[mid] < x { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }
}
