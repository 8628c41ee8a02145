/// Training augmentation that keeps a random subset of a recording's units (docs/spec.md §4.2,
/// torch_brain `UnitDropout` + `TriangleDistribution`).
///
/// The number kept comes from a "triangle" density on `[minUnits, maxUnits]` with its mode at
/// `modeUnits` (height `peak`, 1 at both ends), drawn by rejection: `x = min + U·(max − min)`,
/// accepted when `u ≤ f(x) / (M·u')` where `u'` is a *fresh uniform* (the reference's proposal
/// "density"), so the effective density is ∝ c(1 − ln c), c = f(x)/M. After more than
/// `maxAttempts` rejections every unit is kept. Recordings with fewer than `minUnits` units are
/// never thinned. Defaults are the POYO-MP/POYO-1 settings (30 / 100 / 300, peak 4).
public struct UnitDropout: Sendable, Equatable {
    public var minUnits: Int
    public var modeUnits: Int
    public var maxUnits: Int
    /// Where the density falls back to 1; defaults to `maxUnits`.
    public var tailRight: Int
    public var peak: Double
    public var m: Double
    public var maxAttempts: Int

    public init(
        minUnits: Int = 30, modeUnits: Int = 100, maxUnits: Int = 300, tailRight: Int? = nil,
        peak: Double = 4, m: Double = 10, maxAttempts: Int = 100
    ) {
        self.minUnits = minUnits
        self.modeUnits = modeUnits
        self.maxUnits = maxUnits
        self.tailRight = tailRight ?? maxUnits
        self.peak = peak
        self.m = m
        self.maxAttempts = maxAttempts
    }

    /// The unnormalised triangle density `f(x)`.
    public func density(_ x: Double) -> Double {
        let lo = Double(minUnits)
        let mode = Double(modeUnits)
        let tail = Double(tailRight)
        if x < lo { return 0 }
        if x <= mode { return mode > lo ? 1 + (peak - 1) * (x - lo) / (mode - lo) : peak }
        if x <= tail { return tail > mode ? peak - (peak - 1) * (x - mode) / (tail - mode) : 1 }
        return 1
    }

    /// How many of `unitCount` units to keep (before capping at `unitCount`).
    public func sampleCount(unitCount: Int, rng: inout SeededRNG) -> Int {
        guard unitCount >= minUnits else { return unitCount }
        let lo = Double(minUnits)
        let span = Double(maxUnits - minUnits)
        var attempts = 0
        while true {
            let x = lo + rng.uniform() * span
            let u = rng.uniform()
            let proposal = rng.uniform()  // the reference's "proposal density": a fresh uniform
            if u <= density(x) / (m * proposal) { return Int(x) }
            attempts += 1
            if attempts > maxAttempts { return unitCount }
        }
    }

    /// Local indices of the kept units, ascending (the recording's unit order is preserved).
    public func keptUnits(unitCount: Int, rng: inout SeededRNG) -> [Int32] {
        let keep = min(sampleCount(unitCount: unitCount, rng: &rng), unitCount)
        guard keep < unitCount else { return (0..<Int32(unitCount)).map { $0 } }
        // Partial Fisher–Yates: the first `keep` entries of a random permutation.
        var perm = Array(0..<Int32(unitCount))
        for i in 0..<keep { perm.swapAt(i, i + rng.int(below: unitCount - i)) }
        return perm[..<keep].sorted()
    }
}
