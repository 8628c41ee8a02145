import Foundation

/// Where two arrays differ most, normwise: max|a − b| / max|b| (POYO golden metric).
public struct Comparison: CustomStringConvertible {
    public let error: Double        // normwise (or plain relative for scalars)
    public let maxAbs: Double
    public let index: Int           // flat index of the largest absolute difference
    public let ours: Double
    public let reference: Double

    public var description: String {
        String(format: "normwise %.3e (max |diff| %.3e at [%d]: ours %.8g, ref %.8g)", error, maxAbs, index, ours, reference)
    }
}

/// Normwise error of `ours` against `reference`; NaN anywhere makes the error infinite.
public func compare(_ ours: [Float], _ reference: [Float]) -> Comparison {
    precondition(ours.count == reference.count, "compare: \(ours.count) vs \(reference.count) elements")
    var maxDiff = 0.0, maxRef = 0.0, at = 0
    for j in 0..<ours.count {
        let a = Double(ours[j]), b = Double(reference[j])
        let diff = abs(a - b)
        if !diff.isFinite { return Comparison(error: .infinity, maxAbs: .infinity, index: j, ours: a, reference: b) }
        if diff > maxDiff { maxDiff = diff; at = j }
        maxRef = max(maxRef, abs(b))
    }
    let err = maxRef > 0 ? maxDiff / maxRef : maxDiff
    return Comparison(error: err, maxAbs: maxDiff, index: at,
                      ours: ours.isEmpty ? 0 : Double(ours[at]), reference: reference.isEmpty ? 0 : Double(reference[at]))
}

/// Random Float32 values in [-scale, scale) from a seeded LCG (tests only).
public func randomFloats(_ n: Int, seed: UInt64, scale: Float = 1) -> [Float] {
    var s = seed &* 6364136223846793005 &+ 1442695040888963407
    return (0..<n).map { _ in
        s = s &* 6364136223846793005 &+ 1442695040888963407
        return (Float(s >> 40) / Float(1 << 24) * 2 - 1) * scale
    }
}

/// The repository root (tests locate fixtures relative to it).
public func packageRoot(_ file: String = #filePath) -> URL {
    var url = URL(fileURLWithPath: file)
    while url.path != "/" {
        url.deleteLastPathComponent()
        if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url }
    }
    return URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
}
