import Foundation
import POYOData

/// What a run may allocate, checked before it allocates: a config, a checkpoint's metadata or an
/// option can ask for terabytes (`depth: 100000`, `--batch-size 1000000`), which once grew until the
/// kernel killed the process with no message. Estimates are in Double, so no size can overflow.
public enum MemoryBudget {
    /// `$POYO_MAX_BYTES` when set, else the machine's physical memory.
    public static var limit: Double {
        if let text = ProcessInfo.processInfo.environment["POYO_MAX_BYTES"], let v = Double(text), v > 0 { return v }
        return Double(ProcessInfo.processInfo.physicalMemory)
    }

    /// Float32 parameters of a POYO config, by the key that sizes them (the same list `ParameterSet` builds).
    public static func parameterCounts(_ c: POYOConfig, unitVocabSize: Int, sessionVocabSize: Int) -> [(String, Double)]
    {
        let d = Double(c.dim)
        let ci = Double(c.crossInner)
        let si = Double(c.selfInner)
        let layerNorm = 2 * d
        let ffn = layerNorm + (8 * d * d + 8 * d) + (4 * d * d + d)
        let cross = 2 * layerNorm + ci * d + 2 * ci * d + (d * ci + d)
        let processorLayer = layerNorm + 3 * si * d + (d * si + d) + ffn
        return [
            ("unit vocabulary (\(unitVocabSize) units) × dim", Double(unitVocabSize) * d),
            ("session vocabulary × dim", Double(sessionVocabSize) * d),
            ("num_latents_per_step × dim", (Double(c.numLatentsPerStep) + 4) * d),
            ("encoder, decoder and readout (dim \(c.dim))", 2 * cross + 2 * ffn + Double(c.dimOut) * (d + 1)),
            ("depth \(c.depth) × processing layer", Double(c.depth) * processorLayer),
        ]
    }

    /// Bytes of the activations one training batch keeps for its backward pass (a lower bound: the
    /// latent side only, which every window has whatever its spikes; `tokensPerWindow` adds the inputs).
    public static func activationBytes(_ c: POYOConfig, batchSize: Int, tokensPerWindow: Int = 0) -> Double {
        let d = Double(c.dim)
        let ci = Double(c.crossInner)
        let si = Double(c.selfInner)
        let latents = Double(batchSize) * Double(c.latentsPerWindow)
        let perLatentRow = Double(c.depth) * (16 * d + 5 * si) + 2 * (16 * d + 3 * ci)
        let perInputRow = 2 * d + 2 * ci
        return 4 * (latents * perLatentRow + Double(batchSize) * Double(tokensPerWindow) * perInputRow)
    }

    /// Refuses a model (and, when training, its batch) that would not fit, naming what makes it large.
    /// `training`: gradients and two optimizer moments besides the values; `batchSize` adds activations.
    public static func check(
        _ c: POYOConfig, unitVocabSize: Int, sessionVocabSize: Int, training: Bool, batchSize: Int? = nil,
        tokensPerWindow: Int = 0, source: String
    ) throws {
        try c.validate()  // bounded dimensions first: the estimate's own products must not overflow
        let counts = parameterCounts(c, unitVocabSize: unitVocabSize, sessionVocabSize: sessionVocabSize)
        // Every parameter has a value and a gradient tensor; training adds Adam's two moments.
        let copies: Double = training ? 4 : 2
        let parameters = counts.reduce(0) { $0 + $1.1 }
        let parameterBytes = parameters * 4 * copies
        let activations = batchSize.map { activationBytes(c, batchSize: $0, tokensPerWindow: tokensPerWindow) } ?? 0
        let total = parameterBytes + activations
        guard total > limit else { return }
        let largest = counts.max { $0.1 < $1.1 }?.0 ?? "dim"
        var parts = [
            String(format: "%.3g", parameters) + " parameters, most of them \(largest) (\(gib(parameterBytes))"
                + (training ? " with gradients and optimizer moments)" : " with gradients)")
        ]
        if let batchSize {
            parts.append("the activations of batch_size \(batchSize) at depth \(c.depth) (\(gib(activations)))")
        }
        throw POYOError.invalidConfig(
            "\(source): the run would need about \(gib(total)), more than the \(gib(limit)) available "
                + "(physical memory, or POYO_MAX_BYTES): " + parts.joined(separator: "; "))
    }

    /// Refuses a Wiener design whose normal equations would not fit: `blocks` Gram matrices of
    /// `features`² doubles (one per fold, and the fit), naming the history that makes it large.
    public static func checkWiener(features: Int, blocks: Int, session: String, history: String) throws {
        let bytes = Double(blocks + 2) * Double(features) * Double(features) * 8
        guard bytes > limit else { return }
        throw POYOError.invalidConfig(
            "baseline: \(session): \(features) features (\(history)) need about \(gib(bytes)) for the filter's "
                + "normal equations, more than the \(gib(limit)) available (physical memory, or POYO_MAX_BYTES); "
                + "use a shorter --history or a wider --bin")
    }

    /// Input tokens of the densest window: a start and an end token per unit and the spikes of a
    /// window at the recording's mean rate.
    public static func tokensPerWindow(_ recordings: [Recording], seconds: Double) -> Int {
        recordings.map { r in
            let duration = max(r.domain.totalLength, 1e-9)
            return 2 * r.unitIDs.count + Int(min(Double(r.spikeCount) / duration * seconds, 1e12))
        }.max() ?? 0
    }

    static func gib(_ bytes: Double) -> String { String(format: "%.3g GiB", bytes / 1_073_741_824) }
}
