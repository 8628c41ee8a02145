import Compute
import Foundation
import POYOData

/// Parity of one golden fixture on one device: forward (output and latents), loss, every gradient
/// (and the rows the reference leaves exactly zero), and the loss trajectory of five AdamW steps.
/// The single implementation behind the golden tests and `poyo-bench golden`, so both report the
/// same figures against the same tolerances.
public enum GoldenCheck {
    /// Tolerances of Tools/golden/README.md: a float32 engine against the float64 reference,
    /// normwise (max |ours − ref| / max |ref|) per tensor, plain relative for scalars.
    public static let outputTolerance = 1e-5
    public static let lossTolerance = 1e-6
    public static let gradTolerance = 2e-5
    public static let trainTolerance = 2e-5

    /// One group of compared tensors: the worst error in it, where, and every tensor over the bound.
    public struct Group: Sendable {
        public let name: String
        public let worst: Double
        public let worstAt: String
        public let tolerance: Double
        /// One line per failed comparison, naming the fixture and tensor.
        public let failures: [String]
        public var passed: Bool { failures.isEmpty }
    }

    public struct Report: Sendable {
        public let fixture: String
        public let device: String
        public let groups: [Group]
        public var passed: Bool { groups.allSatisfy(\.passed) }
        public var failures: [String] { groups.flatMap(\.failures) }

        /// `golden poyo_tiny.safetensors on cpu: output 1.30e-06, latents ...` (the test log line;
        /// names the worst tensor of the gradients, the group with many).
        public var summaryLine: String {
            let parts = groups.map { g in
                g.name != "grads"
                    ? "\(g.name) \(String(format: "%.2e", g.worst))"
                    : "\(g.name) \(String(format: "%.2e", g.worst)) (\(g.worstAt))"
            }
            return "golden \(fixture) on \(device): " + parts.joined(separator: ", ") + (passed ? "" : " FAIL")
        }
    }

    /// Accumulates one group's comparisons.
    private struct GroupBuilder {
        let name: String
        let tolerance: Double
        let fixture: String
        var worst = 0.0
        var worstAt = ""
        var failures: [String] = []

        mutating func add(_ error: Double, at label: String, detail: @autoclosure () -> String) {
            // NaN compares false everywhere: count it as the worst possible error.
            let e = error.isNaN ? Double.infinity : error
            if e > worst {
                worst = e
                worstAt = label
            }
            if !(e <= tolerance) { failures.append("\(fixture) \(label): \(detail()) > \(tolerance)") }
        }

        func build() -> Group {
            Group(name: name, worst: worst, worstAt: worstAt, tolerance: tolerance, failures: failures)
        }
    }

    /// Runs every part of the fixture at `url` on `device`. Throws only when the fixture cannot be
    /// read or a device op fails; numerical mismatches are reported, not thrown.
    public static func run(fixture url: URL, device: Device) throws -> Report {
        let g = try GoldenFixture(url)
        let model = try g.model(on: device)
        let inputs = try model.prepare(g.batch)
        let act = try model.forward(inputs)

        var output = GroupBuilder(name: "output", tolerance: outputTolerance, fixture: g.name)
        let out = compare(try device.download(act.prediction), try g.file.floats("expected.output"))
        output.add(out.error, at: "expected.output", detail: "\(out)")

        var latents = GroupBuilder(name: "latents", tolerance: outputTolerance, fixture: g.name)
        for (key, t) in [
            ("expected.latents_after_encoder", act.latentsAfterEncoder),
            ("expected.latents_after_layer0", act.latentsAfterLayer(0)),
            ("expected.latents_final", act.latentsFinal),
        ] {
            let c = compare(try device.download(t), try g.file.floats(key))
            latents.add(c.error, at: key, detail: "\(c)")
        }

        var loss = GroupBuilder(name: "loss", tolerance: lossTolerance, fixture: g.name)
        let ours = Double(try device.readScalar(act.loss))
        let refLoss = Double(try g.file.floats("expected.loss")[0])
        loss.add(abs(ours - refLoss) / abs(refLoss), at: "expected.loss", detail: "\(ours) vs \(refLoss)")

        model.params.zeroGrads()
        try model.backward(act)
        var grads = GroupBuilder(name: "grads", tolerance: gradTolerance, fixture: g.name)
        // Rows the reference leaves exactly zero (padding, unreferenced vocab rows, token type 3)
        // must be exactly zero here too: tolerance 0, counted in rows.
        var zeroRows = GroupBuilder(name: "zero rows", tolerance: 0, fixture: g.name)
        for p in model.params.all {
            let mine = try device.download(p.grad)
            let ref = try g.file.floats("grad." + p.name)
            let c = compare(mine, ref)
            grads.add(c.error, at: p.name, detail: "grad.\(p.name) \(c)")
            let width = p.shape.last ?? 1
            var nonZero = 0
            for row in 0..<(ref.count / width) {
                let r = (row * width)..<((row + 1) * width)
                if ref[r].allSatisfy({ $0 == 0 }) && !mine[r].allSatisfy({ $0 == 0 }) { nonZero += 1 }
            }
            zeroRows.add(
                Double(nonZero), at: p.name,
                detail: "grad.\(p.name): \(nonZero) rows that the reference leaves zero are not")
        }

        // Five AdamW steps on the same batch, with the fixture's optimizer settings.
        let optJSON = g.file.metadata["train_optimizer"] ?? "{}"
        let opt = (try? JSONSerialization.jsonObject(with: Data(optJSON.utf8))) as? [String: Any] ?? [:]
        let lr = Float((opt["lr"] as? Double) ?? 1e-3)
        let betas = (opt["betas"] as? [Double]) ?? [0.9, 0.999]
        let adam = try AdamW(
            params: model.params, beta1: Float(betas[0]), beta2: Float(betas[1]),
            eps: Float((opt["eps"] as? Double) ?? 1e-8),
            weightDecay: Float((opt["weight_decay"] as? Double) ?? 1e-4))
        let refLosses = try g.file.floats("train.losses")
        var train = GroupBuilder(name: "train.losses", tolerance: trainTolerance, fixture: g.name)
        for step in 0..<refLosses.count {
            let a = try model.forward(inputs)
            let l = Double(try device.readScalar(a.loss))
            let ref = Double(refLosses[step])
            train.add(abs(l - ref) / abs(ref), at: "step \(step)", detail: "train.losses[\(step)] \(l) vs \(ref)")
            model.params.zeroGrads()
            try model.backward(a)
            try adam.step(lr: lr, beta1: nil)
        }

        return Report(
            fixture: g.name, device: device.kind.rawValue,
            groups: [
                output.build(), latents.build(), loss.build(), grads.build(), zeroRows.build(),
                train.build(),
            ])
    }
}
