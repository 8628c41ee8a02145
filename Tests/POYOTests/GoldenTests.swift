import Compute
import Foundation
import POYO
import POYOData
import Testing
import TestSupport

/// Parity with torch_brain's POYO on every fixture in the golden directory
/// (tolerances of ../shared/golden/README.md: a float32 engine against the float64 reference).
@Suite struct GoldenTests {
    static let outputTolerance = 1e-5
    static let lossTolerance = 1e-6
    static let gradTolerance = 2e-5
    static let trainTolerance = 2e-5

    @Test func goldenDirectoryHasFixtures() throws {
        #expect(try !GoldenFixture.all().isEmpty, "no *.safetensors in \(GoldenFixture.directory.path)")
    }

    @Test(arguments: try GoldenFixture.all())
    func fixtureMatchesReference(_ url: URL) throws {
        try checkFixture(url, device: CPUDevice())
    }
}

/// Runs one fixture on `device`, printing the worst error of each group.
func checkFixture(_ url: URL, device: Device) throws {
    let g = try GoldenFixture(url)
    let model = try g.model(on: device)
    let inputs = try model.prepare(g.batch)
    let act = try model.forward(inputs)
    var report: [String] = []

    let out = compare(try device.download(act.prediction), try g.file.floats("expected.output"))
    report.append("output \(String(format: "%.2e", out.error))")
    #expect(out.error <= GoldenTests.outputTolerance, "\(g.name) expected.output: \(out)")

    var worstLatent = 0.0
    for (key, t) in [("expected.latents_after_encoder", act.latentsAfterEncoder),
                     ("expected.latents_after_layer0", act.latentsAfterLayer(0)),
                     ("expected.latents_final", act.latentsFinal)] {
        let c = compare(try device.download(t), try g.file.floats(key))
        worstLatent = max(worstLatent, c.error)
        #expect(c.error <= GoldenTests.outputTolerance, "\(g.name) \(key): \(c)")
    }
    report.append("latents \(String(format: "%.2e", worstLatent))")

    let loss = Double(try device.readScalar(act.loss))
    let refLoss = Double(try g.file.floats("expected.loss")[0])
    let lossErr = abs(loss - refLoss) / abs(refLoss)
    report.append("loss \(String(format: "%.2e", lossErr))")
    #expect(lossErr <= GoldenTests.lossTolerance, "\(g.name) loss \(loss) vs \(refLoss)")

    model.params.zeroGrads()
    try model.backward(act)
    var worstGrad = (0.0, "")
    for spec in model.params.specs {
        let ours = try device.download(model.params.grad(spec.name))
        let ref = try g.file.floats("grad.\(spec.name)")
        let c = compare(ours, ref)
        if c.error > worstGrad.0 { worstGrad = (c.error, spec.name) }
        #expect(c.error <= GoldenTests.gradTolerance, "\(g.name) grad.\(spec.name): \(c)")
        // Rows the reference leaves exactly zero (padding, unreferenced vocab rows, token type 3).
        let width = spec.shape.last ?? 1
        for row in 0..<(ref.count / width) where ref[(row * width)..<((row + 1) * width)].allSatisfy({ $0 == 0 }) {
            #expect(ours[(row * width)..<((row + 1) * width)].allSatisfy { $0 == 0 },
                    "\(g.name) grad.\(spec.name) row \(row) must be exactly zero")
        }
    }
    report.append("grads \(String(format: "%.2e", worstGrad.0)) (\(worstGrad.1))")

    // Five AdamW steps on the same batch, with the fixture's optimizer settings.
    let optJSON = g.file.metadata["train_optimizer"] ?? "{}"
    let opt = (try? JSONSerialization.jsonObject(with: Data(optJSON.utf8))) as? [String: Any] ?? [:]
    let lr = Float((opt["lr"] as? Double) ?? 1e-3)
    let betas = (opt["betas"] as? [Double]) ?? [0.9, 0.999]
    let adam = try AdamW(params: model.params, beta1: Float(betas[0]), beta2: Float(betas[1]),
                         eps: Float((opt["eps"] as? Double) ?? 1e-8), weightDecay: Float((opt["weight_decay"] as? Double) ?? 1e-4))
    let refLosses = try g.file.floats("train.losses")
    var worstTrain = 0.0
    for step in 0..<refLosses.count {
        let a = try model.forward(inputs)
        let l = Double(try device.readScalar(a.loss))
        let err = abs(l - Double(refLosses[step])) / abs(Double(refLosses[step]))
        worstTrain = max(worstTrain, err)
        #expect(err <= GoldenTests.trainTolerance, "\(g.name) train.losses[\(step)]: \(l) vs \(refLosses[step])")
        model.params.zeroGrads()
        try model.backward(a)
        try adam.step(lr: lr, beta1: nil)
    }
    report.append("train.losses \(String(format: "%.2e", worstTrain))")
    print("golden \(g.name) on \(device.kind.rawValue): " + report.joined(separator: ", "))
}
