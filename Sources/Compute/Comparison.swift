import Foundation

/// Where two arrays differ most, normwise: max|a − b| / max|b| (the metric of the golden fixtures,
/// of the parity tests and of `poyo-bench`'s validation against the CPU backend).
public struct Comparison: CustomStringConvertible, Sendable {
    public let error: Double  // normwise (or plain relative for scalars)
    public let maxAbs: Double
    public let index: Int  // flat index of the largest absolute difference
    public let ours: Double
    public let reference: Double

    public var description: String {
        String(
            format: "normwise %.3e (max |diff| %.3e at [%ld]: ours %.8g, ref %.8g)",
            error, maxAbs, index, ours, reference)
    }
}

/// Normwise error of `ours` against `reference`; NaN anywhere, or a length mismatch, makes the error infinite.
public func compare(_ ours: [Float], _ reference: [Float]) -> Comparison {
    guard ours.count == reference.count else {
        return Comparison(
            error: .infinity, maxAbs: .infinity, index: min(ours.count, reference.count),
            ours: .nan, reference: .nan)
    }
    var maxDiff = 0.0
    var maxRef = 0.0
    var at = 0
    for j in 0..<ours.count {
        let a = Double(ours[j])
        let b = Double(reference[j])
        let diff = abs(a - b)
        if !diff.isFinite { return Comparison(error: .infinity, maxAbs: .infinity, index: j, ours: a, reference: b) }
        if diff > maxDiff {
            maxDiff = diff
            at = j
        }
        maxRef = max(maxRef, abs(b))
    }
    let err = maxRef > 0 ? maxDiff / maxRef : maxDiff
    return Comparison(
        error: err, maxAbs: maxDiff, index: at,
        ours: ours.isEmpty ? 0 : Double(ours[at]), reference: reference.isEmpty ? 0 : Double(reference[at]))
}
