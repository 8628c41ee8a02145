/// Draws built only on `next()`, so sequences never depend on how the standard library implements
/// `Int.random(in:using:)` or `shuffle(using:)` (which may change between toolchains).
extension SeededRNG {
    /// Uniform integer in `0..<n` (Lemire's multiply-and-reject, unbiased). `n <= 0` gives 0.
    public mutating func int(below n: Int) -> Int {
        guard n > 1 else { return 0 }
        let bound = UInt64(n)
        var m = next().multipliedFullWidth(by: bound)
        if m.low < bound {
            let threshold = (0 &- bound) % bound
            while m.low < threshold { m = next().multipliedFullWidth(by: bound) }
        }
        return Int(m.high)
    }

    /// Uniform in `[lo, hi)`.
    public mutating func uniform(_ lo: Double, _ hi: Double) -> Double { lo + (hi - lo) * uniform() }

    /// Fisher–Yates shuffle in place.
    public mutating func shuffle<T>(_ a: inout [T]) {
        var i = a.count - 1
        while i > 0 {
            a.swapAt(i, int(below: i + 1))
            i -= 1
        }
    }

    /// A uniformly random permutation of `0..<n`.
    public mutating func permutation(_ n: Int) -> [Int] {
        var p = Array(0..<max(0, n))
        shuffle(&p)
        return p
    }
}
