import Foundation

/// Random Float32 values in [-scale, scale) from a seeded LCG (tests only).
public func randomFloats(_ n: Int, seed: UInt64, scale: Float = 1) -> [Float] {
    var s = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
    return (0..<n).map { _ in
        s = s &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
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
