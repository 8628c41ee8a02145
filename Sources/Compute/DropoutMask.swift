/// The dropout mask shared by every backend: element `index` of a call with `seed` is kept iff
/// `keep(seed, index, p)`. A counter-based hash (SplitMix64's finaliser) so a backward pass, or
/// another device, regenerates exactly the forward's mask without storing it.
/// `Kernels/` must implement the same formula.
public enum DropoutMask {
    @inline(__always)
    public static func hash(_ seed: UInt64, _ index: UInt64) -> UInt64 {
        var z = seed &+ (index &+ 1) &* 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// 24-bit threshold: an element is dropped when its hash's top 24 bits are below it.
    @inline(__always)
    public static func threshold(_ p: Float) -> UInt32 { UInt32((Double(p) * 16_777_216).rounded()) }

    @inline(__always)
    public static func keep(_ seed: UInt64, _ index: UInt64, threshold: UInt32) -> Bool {
        UInt32(truncatingIfNeeded: hash(seed, index) >> 40) >= threshold
    }

    /// Index of attention probability (query row i of the batch, head h, key j within its window).
    @inline(__always)
    public static func attentionIndex(row i: Int, head h: Int, heads: Int, key j: Int) -> UInt64 {
        (UInt64(i &* heads &+ h) << 32) | UInt64(j)
    }
}
