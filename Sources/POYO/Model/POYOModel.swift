import Compute
import Foundation
import POYOData

/// The POYO graph (docs/spec.md §3.5) over packed batches, on any `Device`.
public final class POYOModel {
    public let config: POYOConfig
    public let device: Device
    public let params: ParameterSet
    public private(set) var unitVocab: Vocabulary
    public private(set) var sessionVocab: Vocabulary
    /// `[P]` rotary angular frequencies (rad/s).
    public let omega: [Float]
    var blocks: Blocks { Blocks(dev: device) }

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
            device: device, config: config, unitVocabSize: unitVocab.count, sessionVocabSize: sessionVocab.count)
    }

    /// One processing layer's saved state.
    struct ProcessorLayerCache {
        let attention: Blocks.SelfAttentionCache
        let feedForward: Blocks.FFNCache
    }

    /// Everything the backward pass needs from one forward pass, and what it produced.
    public struct Activations {
        let inputs: BatchTensors
        let encoder: Blocks.CrossAttentionCache
        let encoderFeedForward: Blocks.FFNCache
        let processor: [ProcessorLayerCache]
        /// `[B·N_lat, d]` latents: [0] after the encoder FFN, [l + 1] after processing layer l.
        let latents: [Tensor]
        let decoder: Blocks.CrossAttentionCache
        let decoderFeedForward: Blocks.FFNCache
        let decoded: Tensor  // [N_out, d] the readout's input
        /// `[N_out, dim_out]` predictions.
        public let prediction: Tensor
        /// `[1]` weighted MSE.
        public let loss: Tensor

        /// Latents after the encoder, after processing layer `l`, and at the end (golden snapshots).
        public var latentsAfterEncoder: Tensor { latents[0] }
        public func latentsAfterLayer(_ l: Int) -> Tensor { latents[l + 1] }
        public var latentsFinal: Tensor { latents[latents.count - 1] }
    }

    var crossShape: Blocks.AttentionShape {
        Blocks.AttentionShape(heads: config.crossHeads, headDim: config.dimHead, rotateValue: true)
    }
    var decoderShape: Blocks.AttentionShape {
        Blocks.AttentionShape(heads: config.crossHeads, headDim: config.dimHead, rotateValue: false)
    }
    var selfShape: Blocks.AttentionShape {
        Blocks.AttentionShape(heads: config.selfHeads, headDim: config.dimHead, rotateValue: true)
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
        let B = blocks
        let P = params
        let d = c.dim
        var site: UInt64 = 0
        func drop(_ p: Float) -> DropoutSpec {
            guard let s = dropoutSeed, p > 0 else { return .none }
            site += 1
            return DropoutSpec(p: p, seed: DropoutMask.hash(s, site))
        }
        // Embeddings: x = unit_emb[uid] + token_type_emb[type]; z = latent_emb[latent id].
        let x = try B.tensor(inputs.input.rows, d)  // [N_in, d]
        device.gatherRows(table: P.unitEmbedding.value, indices: inputs.unitIndex, out: x, accumulate: false)
        device.gatherRows(table: P.tokenTypeEmbedding.value, indices: inputs.tokenType, out: x, accumulate: true)
        let z0 = try B.tensor(inputs.latent.rows, d)  // [B·N_lat, d]
        device.gatherRows(table: P.latentEmbedding.value, indices: inputs.latentIndex, out: z0, accumulate: false)

        // Encoder: z += CrossAttn(z, x); z += FFN(z). No lin-dropout here.
        let (z1, encoder) = try B.crossAttention(
            P.encoder, query: z0, context: x, queries: inputs.latent, keys: inputs.input, shape: crossShape,
            dropout: drop(c.atnDropout))
        device.axpy(1, z0, z1)
        let (z2, encoderFFN) = try B.feedForward(
            z1, P.encoderFeedForward, dropout: drop(c.ffnDropout), outDropout: .none)
        device.axpy(1, z1, z2)

        let (latents, processor) = try process(z2, tokens: inputs.latent, drop: drop)
        let decoded = try decode(
            latents[latents.count - 1], sessions: inputs.outputSession, queries: inputs.output,
            latentTokens: inputs.latent, drop: drop)
        let pred = decoded.prediction
        let loss = try device.makeTensor([1], dtype: .float32)
        device.weightedMSEForward(pred: pred, target: inputs.targets, weights: inputs.weights, loss: loss)

        return Activations(
            inputs: inputs, encoder: encoder, encoderFeedForward: encoderFFN, processor: processor,
            latents: latents, decoder: decoded.attention, decoderFeedForward: decoded.feedForward,
            decoded: decoded.y, prediction: pred, loss: loss)
    }

    /// The processor (docs/spec.md §3.5 step 3): pre-LN self-attention and FFN over the latents
    /// `z` `[N_lat, d]`, each residual branch with lin-dropout. Returns `z` and every layer's output
    /// (`[depth + 1]`) and each layer's saved state. `drop` hands out the dropouts in call order.
    func process(_ z: Tensor, tokens: TokenSet, drop: (Float) -> DropoutSpec) throws
        -> (latents: [Tensor], caches: [ProcessorLayerCache])
    {
        let B = blocks
        var latents = [z]
        var processor: [ProcessorLayerCache] = []
        for layer in params.processor {
            let (f, cache) = try processLayer(layer, latents[latents.count - 1], tokens: tokens, drop: drop, B)
            processor.append(cache)
            latents.append(f)
        }
        return (latents, processor)
    }

    /// One processor layer on `zin` `[N_lat, d]`: `a = zin + SelfAttn(zin)`, then `a + FFN(a)`.
    func processLayer(
        _ layer: ProcessorLayerParameters, _ zin: Tensor, tokens: TokenSet, drop: (Float) -> DropoutSpec, _ B: Blocks
    ) throws -> (Tensor, ProcessorLayerCache) {
        let c = config
        let (a, attention) = try B.selfAttention(
            layer.attention, x: zin, tokens: tokens, shape: selfShape,
            dropout: drop(c.atnDropout), outDropout: drop(c.linDropout))
        device.axpy(1, zin, a)
        let (f, ffn) = try B.feedForward(
            a, layer.feedForward, dropout: drop(c.ffnDropout), outDropout: drop(c.linDropout))
        device.axpy(1, a, f)
        return (f, ProcessorLayerCache(attention: attention, feedForward: ffn))
    }

    /// The decoder and readout (docs/spec.md §3.5 steps 4–6): y = q_out + CrossAttn(q_out, z) (no
    /// value rotation); y += FFN(y); prediction = readout(y). `sessions` `[N_out]` picks each query's
    /// session row; `z` `[N_lat, d]` are the processed latents.
    func decode(
        _ z: Tensor, sessions: Tensor, queries: TokenSet, latentTokens: TokenSet, drop: (Float) -> DropoutSpec,
        arena: TensorArena? = nil
    ) throws -> (y: Tensor, prediction: Tensor, attention: Blocks.CrossAttentionCache, feedForward: Blocks.FFNCache) {
        let c = config
        let B = Blocks(dev: device, arena: arena)
        let P = params
        let qOut = try B.tensor(queries.rows, c.dim)  // [N_out, d]
        device.gatherRows(table: P.sessionEmbedding.value, indices: sessions, out: qOut, accumulate: false)
        let (y1, attention) = try B.crossAttention(
            P.decoder, query: qOut, context: z, queries: queries, keys: latentTokens, shape: decoderShape,
            dropout: drop(c.atnDropout))
        device.axpy(1, qOut, y1)
        let (y2, feedForward) = try B.feedForward(
            y1, P.decoderFeedForward, dropout: drop(c.ffnDropout), outDropout: .none)
        device.axpy(1, y1, y2)
        let pred = try B.tensor(queries.rows, c.dimOut)  // [N_out, dim_out]
        B.linear(y2.matrix, rows: queries.rows, P.readout, into: pred)
        return (y2, pred, attention, feedForward)
    }

    /// Accumulates ∂loss/∂parameter into the parameters' `grad` tensors (callers zero them first).
    public func backward(_ a: Activations) throws {
        let c = config
        let B = blocks
        let P = params
        let inputs = a.inputs
        let nOut = inputs.output.rows

        // Readout and loss.
        let dPred = try B.tensor(nOut, c.dimOut)  // [N_out, dim_out]
        device.weightedMSEBackward(pred: a.prediction, target: inputs.targets, weights: inputs.weights, dPred: dPred)
        let dy = try B.tensor(nOut, c.dim)  // [N_out, d]: w.r.t. y2, then (residuals) y1, then q_out
        B.linearBackward(dPred, x: a.decoded.matrix, rows: nOut, P.readout, dX: dy.matrix)

        // Decoder FFN (residual: dy1 = dy2 + FFN backward), then attention: dq_out = dy1 + ...,
        // dz_final from the context path. Residual gradients accumulate in place (dY and dX alias).
        try B.feedForwardBackward(a.decoderFeedForward, P.decoderFeedForward, dY: dy, dX: dy)
        let dz = try B.tensor(inputs.latent.rows, c.dim)  // [B·N_lat, d]
        try B.crossAttentionBackward(
            P.decoder, a.decoder, dY: dy, queries: inputs.output, keys: inputs.latent, shape: decoderShape,
            dQuery: dy, dContext: dz)
        device.scatterAddRows(dy, indices: inputs.outputSession, into: P.sessionEmbedding.grad)

        // Processor, last layer first. dz accumulates in place through every residual.
        for (layer, cache) in zip(P.processor, a.processor).reversed() {
            try B.feedForwardBackward(cache.feedForward, layer.feedForward, dY: dz, dX: dz)
            try B.selfAttentionBackward(
                layer.attention, cache.attention, dY: dz, tokens: inputs.latent, shape: selfShape, dX: dz)
        }

        // Encoder.
        try B.feedForwardBackward(a.encoderFeedForward, P.encoderFeedForward, dY: dz, dX: dz)
        let dx = try B.tensor(inputs.input.rows, c.dim)  // [N_in, d]
        try B.crossAttentionBackward(
            P.encoder, a.encoder, dY: dz, queries: inputs.latent, keys: inputs.input, shape: crossShape,
            dQuery: dz, dContext: dx)
        device.scatterAddRows(dz, indices: inputs.latentIndex, into: P.latentEmbedding.grad)
        device.scatterAddRows(dx, indices: inputs.unitIndex, into: P.unitEmbedding.grad)
        device.scatterAddRows(dx, indices: inputs.tokenType, into: P.tokenTypeEmbedding.grad)
        // Row 0 ("NA") of the vocab tables gets no gradient: BatchTensors rejects index 0.
    }
}
