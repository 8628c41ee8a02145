import Foundation

/// Vectorised helpers for the CPU backend's hot loops.
enum VectorMath {
    /// exp for 8 lanes at once (Cephes-style range reduction and a degree-6 polynomial; ≤ 2 ulp
    /// on [-87, 88], clamped outside). libm's scalar `expf` dominated the attention loops.
    @inline(__always)
    static func exp(_ v: SIMD8<Float>) -> SIMD8<Float> {
        let x = v.clamped(lowerBound: SIMD8(repeating: -87.33), upperBound: SIMD8(repeating: 88.37))
        let fx = (x * 1.44269504088896341).rounded(.toNearestOrEven)
        let r = x - fx * 0.693359375 + fx * 2.12194440e-4
        var p = SIMD8<Float>(repeating: 1.9875691500e-4)
        p = p * r + 1.3981999507e-3
        p = p * r + 8.3334519073e-3
        p = p * r + 4.1665795894e-2
        p = p * r + 1.6666665459e-1
        p = p * r + 5.0000001201e-1
        let y = p * r * r + r + 1
        let n = SIMD8<Int32>(fx, rounding: .towardZero) &+ 127
        return y * unsafeBitCast(SIMD8<UInt32>(truncatingIfNeeded: n) &<< 23, to: SIMD8<Float>.self)
    }

    /// row[j] ← exp(row[j] − shift) for j < n; returns Σ row (sum in lane order, then the tail).
    @inline(__always)
    static func expShifted(_ row: UnsafeMutablePointer<Float>, _ n: Int, shift: Float) -> Float {
        var acc = SIMD8<Float>(repeating: 0)
        var j = 0
        let raw = UnsafeMutableRawPointer(row)
        while j + 8 <= n {
            let e = exp(raw.loadUnaligned(fromByteOffset: j * 4, as: SIMD8<Float>.self) - shift)
            raw.storeBytes(of: e, toByteOffset: j * 4, as: SIMD8<Float>.self)
            acc += e
            j += 8
        }
        var sum = acc.sum()
        while j < n {
            let e = Foundation.expf(row[j] - shift)
            row[j] = e
            sum += e
            j += 1
        }
        return sum
    }
}
