import Compute
import Foundation
import POYOData

/// The POYO graph (POYO-SPEC §3.5) over packed batches, on any `Device`.
public final class POYOModel {
    public let config: POYOConfig
    public let device: Device
    public let params: ParameterSet
    public private(set) var unitVocab: Vocabulary
    public private(set) var sessionVocab: Vocabulary
    /// `[P]` rotary angular frequencies (rad/s).
    public let omega: [Float]
    var layers: Layers { Layers(dev: device, params: params) }

    public init(
        config: POYOConfig, unitVocab: Vocabulary, sessionVocab: Vocabulary, device: Device,
        omega: [Float]? = nil
    ) throws {
        try config.validate()
        self.config = config
        self.device = device
        self.unitVocab = unitVocab
        self.sessionVocab = sessionVocab
        self.omega = omega ?? RotaryTables.omega(config)
        guard self.omega.count * 4 == config.dimHead else {
            throw POYOError.invalidConfig(
                "rotary omega has \(self.omega.count) frequencies; dim_head \(config.dimHead) needs "
                    + "\(config.dimHead / 4)"
            )
        }
        params = try ParameterSet(
            device: device,
            specs: ParameterSet.poyoSpecs(
                config, unitVocabSize: unitVocab.count, sessionVocabSize: sessionVocab.count))
    }

    /// Everything the backward pass needs from one forward pass.
    public final class Activations {
        let inputs: BatchTensors
        let x: Tensor  // [N_in, d] token embeddings
        let z0: Tensor  // [B·N_lat, d] latent embeddings
        let enc: Layers.AttentionCache
        let z1: Tensor
        let encFFN: Layers.FFNCache
        var z: [Tensor] = []  // z[0] after the encoder FFN, z[2l+1] after layer l's attention, z[2l+2] after its FFN
        var procAttn: [Layers.AttentionCache] = []
        var procFFN: [Layers.FFNCache] = []
        var qOut: Tensor! = nil  // [N_out, d] session embeddings
        var dec: Layers.AttentionCache! = nil
        var y1: Tensor! = nil
        var decFFN: Layers.FFNCache! = nil
        var y2: Tensor! = nil
        /// `[N_out, dim_out]` predictions.
        public internal(set) var prediction: Tensor! = nil
        /// `[1]` weighted MSE.
        public internal(set) var loss: Tensor! = nil

        init(
            inputs: BatchTensors, x: Tensor, z0: Tensor, enc: Layers.AttentionCache, z1: Tensor, encFFN: Layers.FFNCache
        ) {
            self.inputs = inputs
            self.x = x
            self.z0 = z0
            self.enc = enc
            self.z1 = z1
            self.encFFN = encFFN
        }

        /// Latents after the encoder, after processing layer `l`'s FFN, and at the end (golden snapshots).
        public var latentsAfterEncoder: Tensor { z[0] }
        public func latentsAfterLayer(_ l: Int) -> Tensor { z[2 * l + 2] }
        public var latentsFinal: Tensor { z[z.count - 1] }
    }

    /// Uploads a batch (ids, offsets, rotary tables, targets).
    public func prepare(_ batch: Batch) throws -> BatchTensors {
        try BatchTensors(
            batch, config: config, omega: omega, device: device,
            unitVocabSize: unitVocab.count, sessionVocabSize: sessionVocab.count)
    }

    /// Forward pass and loss. With `dropoutSeed` the configured dropouts are active (training);
    /// without, the model runs deterministically (evaluation).
    public func forward(_ inputs: BatchTensors, dropoutSeed: UInt64? = nil) throws -> Activations {
        let c = config
        let L = layers
        let d = c.dim
        var site: UInt64 = 0
        func drop(_ p: Float) -> DropoutSpec {
            guard let s = dropoutSeed, p > 0 else { return .none }
            site += 1
            return DropoutSpec(p: p, seed: DropoutMask.hash(s, site))
        }
        // Embeddings: x = unit_emb[uid] + token_type_emb[type]; z = latent_emb[latent id].
        let x = try L.tensor(inputs.input.rows, d)
        device.gatherRows(table: params["unit_emb.weight"], indices: inputs.unitIndex, out: x, accumulate: false)
        device.gatherRows(table: params["token_type_emb.weight"], indices: inputs.tokenType, out: x, accumulate: true)
        let z0 = try L.tensor(inputs.latent.rows, d)
        device.gatherRows(table: params["latent_emb.weight"], indices: inputs.latentIndex, out: z0, accumulate: false)

        // Encoder: z += CrossAttn(z, x); z += FFN(z). No lin-dropout here.
        let (encOut, enc) = try L.crossAttention(
            "enc_atn", query: z0, context: x, queries: inputs.latent, keys: inputs.input,
            heads: c.crossHeads, headDim: c.dimHead, rotateValue: true,
            dropout: drop(c.atnDropout))
        device.axpy(1, z0, encOut)
        let z1 = encOut
        let (ffnOut, encFFN) = try L.feedForward(z1, "enc_ffn", dropout: drop(c.ffnDropout), outDropout: .none)
        device.axpy(1, z1, ffnOut)
        let act = Activations(inputs: inputs, x: x, z0: z0, enc: enc, z1: z1, encFFN: encFFN)
        act.z.append(ffnOut)

        // Processor: pre-LN self-attention and FFN, each residual branch with lin-dropout.
        for l in 0..<c.depth {
            let zin = act.z[act.z.count - 1]
            let (a, ac) = try L.selfAttention(
                "proc_layers.\(l).0", x: zin, tokens: inputs.latent, heads: c.selfHeads,
                headDim: c.dimHead, dropout: drop(c.atnDropout), outDropout: drop(c.linDropout))
            device.axpy(1, zin, a)
            act.procAttn.append(ac)
            act.z.append(a)
            let (f, fc) = try L.feedForward(
                a, "proc_layers.\(l).1", dropout: drop(c.ffnDropout), outDropout: drop(c.linDropout))
            device.axpy(1, a, f)
            act.procFFN.append(fc)
            act.z.append(f)
        }

        // Decoder: y = q_out + CrossAttn(q_out, z) (no value rotation); y += FFN(y); readout.
        let qOut = try L.tensor(inputs.output.rows, d)
        device.gatherRows(
            table: params["session_emb.weight"], indices: inputs.outputSession, out: qOut, accumulate: false)
        let (decOut, dec) = try L.crossAttention(
            "dec_atn", query: qOut, context: act.latentsFinal, queries: inputs.output,
            keys: inputs.latent, heads: c.crossHeads, headDim: c.dimHead,
            rotateValue: false, dropout: drop(c.atnDropout))
        device.axpy(1, qOut, decOut)
        let (y2, decFFN) = try L.feedForward(decOut, "dec_ffn", dropout: drop(c.ffnDropout), outDropout: .none)
        device.axpy(1, decOut, y2)
        let pred = try L.tensor(inputs.output.rows, c.dimOut)
        L.linear(y2.matrix, rows: inputs.output.rows, "readout", bias: true, into: pred)
        let loss = try device.makeTensor([1], dtype: .float32)
        device.weightedMSEForward(pred: pred, target: inputs.targets, weights: inputs.weights, loss: loss)

        act.qOut = qOut
        act.dec = dec
        act.y1 = decOut
        act.decFFN = decFFN
        act.y2 = y2
        act.prediction = pred
        act.loss = loss
        return act
    }

    /// Accumulates ∂loss/∂parameter into `params.grads` (callers zero them first).
    public func backward(_ a: Activations) throws {
        let c = config
        let L = layers
        let d = c.dim
        let inputs = a.inputs
        let nOut = inputs.output.rows
        let nLat = inputs.latent.rows
        let nIn = inputs.input.rows

        // Readout and loss.
        let dPred = try L.tensor(nOut, c.dimOut)
        device.weightedMSEBackward(pred: a.prediction, target: inputs.targets, weights: inputs.weights, dPred: dPred)
        let dy = try L.tensor(nOut, d)  // gradient w.r.t. y2, then (residuals) y1, then q_out
        L.linearBackward(dPred, x: a.y2.matrix, rows: nOut, "readout", bias: true, dX: dy.matrix)

        // Decoder FFN (residual: dy1 = dy2 + FFN backward).
        try L.feedForwardBackward(a.decFFN, "dec_ffn", dY: dy, dX: dy)
        // Decoder attention: dq_out = dy1 + ..., dz_final from the context path.
        let dz = try L.tensor(nLat, d)
        try L.attentionBackward(
            "dec_atn", a.dec, dY: dy, queries: inputs.output, keys: inputs.latent,
            heads: c.crossHeads, headDim: c.dimHead, rotateValue: false, dQuery: dy, dContext: dz)
        device.scatterAddRows(dy, indices: inputs.outputSession, into: params.grad("session_emb.weight"))

        // Processor, last layer first. dz accumulates in place through every residual.
        for l in stride(from: c.depth - 1, through: 0, by: -1) {
            try L.feedForwardBackward(a.procFFN[l], "proc_layers.\(l).1", dY: dz, dX: dz)
            try L.attentionBackward(
                "proc_layers.\(l).0", a.procAttn[l], dY: dz, queries: inputs.latent, keys: inputs.latent,
                heads: c.selfHeads, headDim: c.dimHead, rotateValue: true, dQuery: dz, dContext: nil)
        }

        // Encoder.
        try L.feedForwardBackward(a.encFFN, "enc_ffn", dY: dz, dX: dz)
        let dx = try L.tensor(nIn, d)
        try L.attentionBackward(
            "enc_atn", a.enc, dY: dz, queries: inputs.latent, keys: inputs.input,
            heads: c.crossHeads, headDim: c.dimHead, rotateValue: true, dQuery: dz, dContext: dx)
        device.scatterAddRows(dz, indices: inputs.latentIndex, into: params.grad("latent_emb.weight"))
        device.scatterAddRows(dx, indices: inputs.unitIndex, into: params.grad("unit_emb.weight"))
        device.scatterAddRows(dx, indices: inputs.tokenType, into: params.grad("token_type_emb.weight"))
        // Row 0 ("NA") of the vocab tables gets no gradient: BatchTensors rejects index 0.
    }
}
