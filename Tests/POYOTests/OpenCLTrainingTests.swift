import Compute
import Foundation
import POYO
import POYOData
import TestSupport
import Testing

/// The POYO graph on the OpenCL backend (PoCL in CI) against the references and the CPU backend.
@Suite(.serialized) struct OpenCLTrainingTests {
    static func openCL() throws -> Device {
        try DeviceSelection.opencl(index: nil).make().device
    }

    @Test(arguments: try GoldenFixture.all())
    func goldenFixtureOnOpenCL(_ url: URL) throws {
        try checkFixture(url, device: try Self.openCL())
    }

    /// 20 training steps from the same seed give the same losses on both backends (1e-4 relative),
    /// and each OpenCL step reads back only the loss.
    @Test func twentyStepsMatchCPU() throws {
        let data = try Small.dataset()
        var options = Small.options(steps: 20)
        options.batchSize = 3
        let cl = try Self.openCL()
        let onCPU = try Small.session(data, options: options, device: CPUDevice())
        let onCL = try Small.session(data, options: options, device: cl)
        var worst = 0.0
        for s in 0..<20 {
            let before = cl.readbackCount
            let a = try onCPU.step().loss
            let b = try onCL.step().loss
            #expect(cl.readbackCount - before == 1, "step \(s) read back \(cl.readbackCount - before) times")
            let rel = abs(a - b) / abs(a)
            worst = max(worst, rel)
            #expect(rel <= 1e-4, "step \(s): cpu \(a) vs opencl \(b) (relative \(rel))")
        }
        print("opencl vs cpu, 20 training steps: worst relative loss difference \(String(format: "%.2e", worst))")
    }
}
