import Compute
import TestSupport
import Testing

/// A backend the op tests run on. Every test taking a `DeviceCase` checks that backend against the
/// float64 references in `Reference.swift`; add a backend here (e.g. OpenCL, when one is present)
/// and it gets the whole suite. Tests about `CPUDevice` itself (thread counts) construct it directly.
struct DeviceCase: Sendable, CustomTestStringConvertible {
    let name: String
    let make: @Sendable () throws -> any Device
    var testDescription: String { name }

    /// Three workers, so ops that split work into chunks do so unevenly even on a two-core machine.
    /// Where the CPU backend runs its own AVX-512 GEMM, the OpenBLAS path (what CPUs without AVX-512
    /// run) gets the whole suite too.
    static let all: [DeviceCase] =
        [
            DeviceCase(name: "cpu", make: { CPUDevice(threads: 3) })
        ]
        + (CPUGemmKernels.best == .avx512
            ? [DeviceCase(name: "cpu-openblas", make: { CPUDevice(threads: 3, gemm: .openBLAS) })] : [])
        + openCL

    /// The first OpenCL device (PoCL's CPU device in CI) when one is installed; `OpenCLTests`
    /// fails if none is, so the OpenCL backend never goes untested unnoticed.
    static let openCL: [DeviceCase] =
        ((try? OpenCLDevice.availableDevices())?.isEmpty == false)
        ? [DeviceCase(name: "opencl", make: { try OpenCLDevice(index: 0) })] : []
}

extension Device {
    func tensor(_ values: [Float], _ shape: [Int]) throws -> Tensor { try upload(values, shape: shape) }
    func tensor(_ values: [Double], _ shape: [Int]) throws -> Tensor {
        try upload(values.map { Float($0) }, shape: shape)
    }
    func indices(_ values: [Int]) throws -> Tensor { try upload(values.map { Int32($0) }, shape: [values.count]) }
}

/// Random values in [-scale, scale) as Float32, and the same values widened to Float64.
func randomPair(_ n: Int, seed: UInt64, scale: Float = 1) -> ([Float], [Double]) {
    let f = randomFloats(n, seed: seed, scale: scale)
    return (f, f.map { Double($0) })
}

/// Seeded integers in 0..<bound (tests only).
func randomInts(_ n: Int, bound: Int, seed: UInt64) -> [Int] {
    var s = seed &* 0x9E37_79B9_7F4A_7C15 &+ 1
    return (0..<n).map { _ in
        s = s &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return Int((s >> 33) % UInt64(bound))
    }
}

/// Expects `ours` within `tol` (normwise, see `compare`) of a float64 reference; a failure names
/// the op, the error and where it is largest.
func expectClose(
    _ ours: [Float], _ reference: [Double], tol: Double, _ what: String,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    guard ours.count == reference.count else {
        Issue.record("\(what): \(ours.count) values, reference has \(reference.count)", sourceLocation: sourceLocation)
        return
    }
    let c = compare(ours, reference.map { Float($0) })
    #expect(c.error <= tol, "\(what): \(c) > tol \(tol)", sourceLocation: sourceLocation)
}

/// Expects two arrays to be identical bit for bit (NaN payloads included); names the first difference.
func expectBitwiseEqual(_ a: [Float], _ b: [Float], _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
    guard a.count == b.count else {
        Issue.record("\(what): \(a.count) vs \(b.count) values", sourceLocation: sourceLocation)
        return
    }
    if let j = a.indices.first(where: { a[$0].bitPattern != b[$0].bitPattern }) {
        let n = a.indices.filter { a[$0].bitPattern != b[$0].bitPattern }.count
        Issue.record(
            "\(what): \(n) of \(a.count) elements differ; first at [\(j)]: \(a[j]) vs \(b[j])",
            sourceLocation: sourceLocation)
    }
}

/// Central differences of a float64 function at `x`, for the coordinates `at` (all when nil).
/// With h = 1e-5 in float64 the truncation and rounding errors are both far below 1e-8 relative
/// for the smooth ops tested here, so this is a reference, not an estimate.
func numericGradient(
    _ x: [Double], at coordinates: [Int]? = nil, h: Double = 1e-5,
    _ f: ([Double]) -> Double
) -> [Double] {
    var xp = x
    return (coordinates ?? Array(x.indices)).map { j in
        let x0 = xp[j]
        xp[j] = x0 + h
        let fp = f(xp)
        xp[j] = x0 - h
        let fm = f(xp)
        xp[j] = x0
        return (fp - fm) / (2 * h)
    }
}

/// Σ r ⊙ y: the scalar objective whose gradient with respect to y is r.
func dot(_ r: [Double], _ y: [Double]) -> Double {
    precondition(r.count == y.count)
    var s = 0.0
    for j in r.indices { s += r[j] * y[j] }
    return s
}

func slice(_ a: [Double], _ range: Range<Int>) -> [Double] { Array(a[range]) }
