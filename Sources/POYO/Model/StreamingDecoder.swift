import Compute
import Foundation
import POYOData

/// POYO decoding a live spike stream (issue 23): spikes are pushed as they arrive, and
/// `decode(at: t)` returns the behaviour at `t` from the spikes in `[t − window, t)`: what
/// `POYOModel.forward` gives for that window with its one output query at the window's end.
///
/// Why it is cheaper than a forward pass per update: rotary attention depends only on time
/// differences (docs/spec.md §3.2), so every rotation may use absolute time instead of time in the
/// window. A spike token's key and value, `R(t)·W_kv·LN(unit_emb[u] + type_emb[0])`, then depend
/// only on its unit and its own time. They are computed once, when the spike is pushed, and kept
/// until it leaves the window. Per update, only the START/END tokens (2 per unit, at the window's
/// edges) and the latents' queries are rotated, from rows computed once at creation; the encoder's
/// attention runs over the kept keys, and the processor and decoder run on the latents as in
/// `forward`.
public final class StreamingDecoder {
    public let model: POYOModel
    public let sessionID: String
    /// The session's units, in the order `push(unit:time:)` numbers them (its rows of the vocabulary).
    public let unitIDs: [String]
    /// The window length (s): the model's `sequence_length`.
    public let window: Double

    private let inner: Int  // cross_heads · dim_head: width of a key, a value, a query
    private let omega: [Double]
    private let headDim: Int
    private let heads: Int
    /// Per unit, per token kind (0 spike, 1 START, 2 END), the unrotated `[k | v]`: `[3, U, 2·inner]`.
    private var baseKV: [Float] = []
    /// `[N_lat, inner]` unrotated encoder queries of the latents, and their times in the window.
    private var latentQ: [Float] = []
    private let latentTimes: [Double]

    // The spike ring on the host. Spike number n (counting every push) lives in slot n % capacity.
    private var spikeTimes: [Double] = []  // [capacity]
    private var spikeKV: [Float] = []  // [capacity, 2·inner] rotated [k | v]
    private var first = 0  // number of the oldest kept spike
    private var pushed = 0  // spikes pushed so far
    private var uploaded = 0  // spikes before this number are in `kv` (both copies)
    private var lastTime = -Double.infinity

    // Host scratch, sized once: nothing is allocated per update.
    private var edgeKV: [Float]  // [2·U, 2·inner] the START and END rows of this update
    private var queries: [Float]  // [N_lat, inner] rotated latent queries
    private var latentCos: [Float]  // [N_lat, P]
    private var latentSin: [Float]
    private var edgeCos: [Float]  // [2, P]: the window's start (row 0) and end (row 1)
    private var edgeSin: [Float]
    private var keyWindow: [Int32] = [0, 0]

    // Device tensors kept between updates (allocated once, or when the spike capacity grows).
    /// Keys and values `[2·U + 2·capacity, 2·inner]`: rows `2·U + s` and `2·U + s + capacity` both hold
    /// the spike in slot s, so the kept spikes, read from the oldest one's first copy, are always
    /// consecutive rows. Each update writes its START and END rows into the 2·U rows just before
    /// them (free slots' rows, or the margin at the top), so one key range covers the whole window.
    private var kv: Tensor
    private let keyOffsets: Tensor  // [2] Int32: the window's first and last key row
    private let latentOffsets: Tensor  // [2] Int32: 0, N_lat
    private let outputOffsets: Tensor  // [2] Int32: 0, 1
    private let q: Tensor  // [N_lat, inner]
    private let z0: Tensor  // [N_lat, d] latent embeddings
    private let latentRotary: RotaryTensors  // [N_lat, P]
    private let outputRotary: RotaryTensors  // [1, P]
    private let sessionRow: Tensor  // [1] Int32
    /// The update's scratch tensors, the same ones every update.
    private let arena: TensorArena

    /// A decoder of `model` for session `sessionID` (one of the checkpoint's sessions), keeping room
    /// for `capacity` spikes in the window before it grows (growing allocates once).
    public init(model: POYOModel, sessionID: String, capacity: Int = 4096) throws {
        guard let row = model.sessionVocab.row(of: sessionID) else {
            throw POYOError.streaming("session '\(sessionID)' is not in the checkpoint's sessions")
        }
        let c = model.config
        self.model = model
        self.sessionID = sessionID
        let prefix = sessionID + "/"
        unitIDs = model.unitVocab.words.filter { $0.hasPrefix(prefix) }
        guard !unitIDs.isEmpty else {
            throw POYOError.streaming("the checkpoint has no units of session '\(sessionID)'")
        }
        window = c.sequenceLength
        heads = c.crossHeads
        headDim = c.dimHead
        inner = c.crossHeads * c.dimHead
        omega = model.omega.map(Double.init)
        let steps = Int((c.sequenceLength / c.latentStep).rounded(.down))
        let l = c.numLatentsPerStep
        latentTimes = (0..<(steps * l)).map { (Double($0 / l) + 0.5) * c.latentStep }
        let dev = model.device
        let nLat = latentTimes.count
        let units = unitIDs.count
        let p = omega.count
        let slots = Self.slots(for: max(capacity, 16), units: units)
        spikeTimes = [Double](repeating: 0, count: slots)
        spikeKV = [Float](repeating: 0, count: slots * 2 * inner)
        edgeKV = [Float](repeating: 0, count: 2 * units * 2 * inner)
        queries = [Float](repeating: 0, count: nLat * inner)
        latentCos = [Float](repeating: 0, count: nLat * p)
        latentSin = [Float](repeating: 0, count: nLat * p)
        edgeCos = [Float](repeating: 0, count: 2 * p)
        edgeSin = [Float](repeating: 0, count: 2 * p)
        kv = try dev.makeTensor([2 * units + 2 * slots, 2 * inner], dtype: .float32)
        keyOffsets = try dev.upload([Int32(0), 0], shape: [2])
        latentOffsets = try dev.upload([Int32(0), Int32(nLat)], shape: [2])
        outputOffsets = try dev.upload([Int32(0), 1], shape: [2])
        q = try dev.makeTensor([nLat, inner], dtype: .float32)
        latentRotary = RotaryTensors(
            cos: try dev.makeTensor([nLat, p], dtype: .float32), sin: try dev.makeTensor([nLat, p], dtype: .float32))
        outputRotary = RotaryTensors(
            cos: try dev.makeTensor([1, p], dtype: .float32), sin: try dev.makeTensor([1, p], dtype: .float32))
        sessionRow = try dev.upload([Int32(row)], shape: [1])
        arena = TensorArena(device: dev)
        z0 = try dev.makeTensor([nLat, c.dim], dtype: .float32)
        let latentIndex = try dev.upload((0..<nLat).map { Int32($0 % l) }, shape: [nLat])
        dev.gatherRows(table: model.params.latentEmbedding.value, indices: latentIndex, out: z0, accumulate: false)
        try precompute(unitRows: unitIDs.map { Int32(model.unitVocab.row(of: $0)!) })
    }

    /// Ring slots for `spikes` kept spikes: the window's START and END rows take 2·U free slots' rows.
    private static func slots(for spikes: Int, units: Int) -> Int { spikes + 2 * units }

    /// The rows that never change: each unit's `[k | v]` as a spike, START and END token, and the
    /// latents' encoder queries, all before rotation.
    private func precompute(unitRows: [Int32]) throws {
        let dev = model.device
        let P = model.params
        let B = model.blocks
        let units = unitRows.count
        let rows = 3 * units
        let index = try dev.upload((0..<3).flatMap { _ in unitRows }, shape: [rows])
        let types = try dev.upload(
            (0..<3).flatMap { kind in [Int32](repeating: Int32(kind), count: units) }, shape: [rows])
        let x = try B.tensor(rows, model.config.dim)  // [3·U, d]
        dev.gatherRows(table: P.unitEmbedding.value, indices: index, out: x, accumulate: false)
        dev.gatherRows(table: P.tokenTypeEmbedding.value, indices: types, out: x, accumulate: true)
        let ln = try B.layerNorm(x, P.encoder.normContext)
        let kvRows = try B.tensor(rows, 2 * inner)  // [3·U, 2·inner]
        B.linear(ln.out.matrix, rows: rows, P.encoder.toKV, into: kvRows)
        baseKV = try dev.download(kvRows)
        let lnQ = try B.layerNorm(z0, P.encoder.norm)
        let qRows = try B.tensor(z0.rows, inner)  // [N_lat, inner]
        B.linear(lnQ.out.matrix, rows: z0.rows, P.encoder.toQ, into: qRows)
        latentQ = try dev.download(qRows)
    }

    /// Spikes kept (those not yet evicted by a `decode`).
    public var spikesKept: Int { pushed - first }

    /// The unit number of `id` (one of `unitIDs`), for `push`.
    public func unit(_ id: String) -> Int? { unitIDs.firstIndex(of: id) }

    /// Adds a spike of unit `unit` (0..<unitIDs.count) at `time` (s). Times must not decrease;
    /// a spike earlier than the last, an unknown unit or a non-finite time is an error.
    public func push(unit: Int, time: Double) throws {
        guard unit >= 0, unit < unitIDs.count else {
            throw POYOError.streaming("unit \(unit) is not one of the session's \(unitIDs.count) units")
        }
        guard time.isFinite else { throw POYOError.streaming("spike time \(time) is not finite") }
        guard time >= lastTime else {
            throw POYOError.streaming("spike at \(time) s arrived after one at \(lastTime) s (out of order)")
        }
        lastTime = time
        if Self.slots(for: pushed - first + 1, units: unitIDs.count) > spikeTimes.count { try grow() }
        let slot = pushed % spikeTimes.count
        spikeTimes[slot] = time
        let width = 2 * inner
        spikeKV.withUnsafeMutableBufferPointer { out in
            baseKV.withUnsafeBufferPointer { base in
                edgeCos.withUnsafeMutableBufferPointer { c in
                    edgeSin.withUnsafeMutableBufferPointer { s in
                        angles(at: time, cos: c.baseAddress!, sin: s.baseAddress!)
                        let row = out.baseAddress! + slot * width
                        row.update(from: base.baseAddress! + unit * width, count: width)
                        rotate(row, cos: c.baseAddress!, sin: s.baseAddress!, columns: width)
                    }
                }
            }
        }
        pushed += 1
    }

    /// Doubles the spike ring (the only allocation after creation, while the stream gets denser);
    /// every kept spike is written to the device again at the next update.
    private func grow() throws {
        let old = spikeTimes.count
        let slots = 2 * old
        let width = 2 * inner
        var times = [Double](repeating: 0, count: slots)
        var rows = [Float](repeating: 0, count: slots * width)
        for n in first..<pushed {
            let from = n % old
            let to = n % slots
            times[to] = spikeTimes[from]
            for j in 0..<width { rows[to * width + j] = spikeKV[from * width + j] }
        }
        spikeTimes = times
        spikeKV = rows
        uploaded = first
        kv = try model.device.makeTensor([2 * unitIDs.count + 2 * slots, width], dtype: .float32)
    }

    /// Rotates the key (and, the encoder rotating values, the value) of every head in `row` by the
    /// angles whose cos/sin are `c`/`s` (`[P]`, one per frequency): pairs (2k, 2k+1) of the first
    /// half of each head (docs/spec.md §3.2).
    private func rotate(
        _ row: UnsafeMutablePointer<Float>, cos c: UnsafePointer<Float>, sin s: UnsafePointer<Float>, columns: Int
    ) {
        for k in 0..<omega.count {
            var h = 0
            while h < columns {
                let x0 = row[h + 2 * k]
                let x1 = row[h + 2 * k + 1]
                row[h + 2 * k] = x0 * c[k] - x1 * s[k]
                row[h + 2 * k + 1] = x1 * c[k] + x0 * s[k]
                h += headDim
            }
        }
    }

    /// cos/sin of `t·ω` (`[P]` each), as every rotary table row is made.
    private func angles(at t: Double, cos c: UnsafeMutablePointer<Float>, sin s: UnsafeMutablePointer<Float>) {
        RotaryTables.angles(t, omega: omega, cos: c, sin: s)
    }

    /// Writes the kept spikes not yet on the device (both copies of each), in runs of consecutive slots.
    private func uploadSpikes() throws {
        let slots = spikeTimes.count
        let width = 2 * inner
        let top = 2 * unitIDs.count  // rows above the ring
        if uploaded < first { uploaded = first }
        try spikeKV.withUnsafeBufferPointer { rows in
            while uploaded < pushed {
                let slot = uploaded % slots
                let run = min(pushed - uploaded, slots - slot)
                let values = UnsafeBufferPointer(rebasing: rows[(slot * width)..<((slot + run) * width)])
                try model.device.write(values, to: kv, offset: (top + slot) * width)
                try model.device.write(values, to: kv, offset: (top + slot + slots) * width)
                uploaded += run
            }
        }
    }

    /// The model's output `[dim_out]` at `t` (normalised units, as `forward`'s predictions) from
    /// the spikes in `[t − window, t)`. Spikes before `t − window` are dropped for good; those at or
    /// after `t` stay for later updates. `t` must not go back before a dropped spike's window.
    public func decode(at t: Double) throws -> [Float] {
        var out = [Float](repeating: 0, count: model.config.dimOut)
        try out.withUnsafeMutableBufferPointer { try decode(at: t, into: $0) }
        return out
    }

    /// `decode(at:)` into `out` (`dim_out` floats). After the first updates it allocates nothing.
    public func decode(at t: Double, into out: UnsafeMutableBufferPointer<Float>) throws {
        guard t.isFinite else { throw POYOError.streaming("decode time \(t) is not finite") }
        guard out.count == model.config.dimOut else {
            throw POYOError.streaming("the output buffer holds \(out.count) values, not \(model.config.dimOut)")
        }
        let start = t - window
        let slots = spikeTimes.count
        while first < pushed && spikeTimes[first % slots] < start { first += 1 }
        // Spikes at or after t wait for a later update: the window's spikes are a prefix of the kept ones.
        var used = pushed - first
        while used > 0 && spikeTimes[(first + used - 1) % slots] >= t { used -= 1 }
        try uploadSpikes()

        let dev = model.device
        let c = model.config
        arena.reset()
        let B = Blocks(dev: dev, arena: arena)
        let P = model.params
        let units = unitIDs.count
        let width = 2 * inner
        let p = omega.count
        // Each unit's START (at the window's start) and END (at its end), in the 2·U rows just above
        // the oldest kept spike's row.
        let head = first % slots
        edgeCos.withUnsafeMutableBufferPointer { cb in
            edgeSin.withUnsafeMutableBufferPointer { sb in
                let (cs, sn) = (cb.baseAddress!, sb.baseAddress!)
                angles(at: start, cos: cs, sin: sn)
                angles(at: t, cos: cs + p, sin: sn + p)
                edgeKV.withUnsafeMutableBufferPointer { o in
                    baseKV.withUnsafeBufferPointer { base in
                        for u in 0..<units {
                            let startRow = o.baseAddress! + (2 * u) * width
                            startRow.update(from: base.baseAddress! + (units + u) * width, count: width)
                            rotate(startRow, cos: cs, sin: sn, columns: width)
                            let endRow = o.baseAddress! + (2 * u + 1) * width
                            endRow.update(from: base.baseAddress! + (2 * units + u) * width, count: width)
                            rotate(endRow, cos: cs + p, sin: sn + p, columns: width)
                        }
                    }
                }
            }
        }
        try edgeKV.withUnsafeBufferPointer { try dev.write($0, to: kv, offset: head * width) }
        keyWindow[0] = Int32(head)
        keyWindow[1] = Int32(head + 2 * units + used)
        try dev.write(keyWindow, to: keyOffsets)
        // Latent queries at their times in this window: one cos/sin table rotates them here and
        // serves the device ops (the inverse rotation, the processor, the decoder's keys).
        let nLat = latentTimes.count
        latentCos.withUnsafeMutableBufferPointer { cb in
            latentSin.withUnsafeMutableBufferPointer { sb in
                queries.withUnsafeMutableBufferPointer { qp in
                    latentQ.withUnsafeBufferPointer { base in
                        qp.baseAddress!.update(from: base.baseAddress!, count: nLat * inner)
                    }
                    for r in 0..<nLat {
                        let (cr, sr) = (cb.baseAddress! + r * p, sb.baseAddress! + r * p)
                        angles(at: start + latentTimes[r], cos: cr, sin: sr)
                        rotate(qp.baseAddress! + r * inner, cos: cr, sin: sr, columns: inner)
                    }
                }
            }
        }
        try dev.write(queries, to: q)
        try dev.write(latentCos, to: latentRotary.cos)
        try dev.write(latentSin, to: latentRotary.sin)
        try edgeCos.withUnsafeBufferPointer {
            try dev.write(UnsafeBufferPointer(rebasing: $0[p...]), to: outputRotary.cos, offset: 0)
        }
        try edgeSin.withUnsafeBufferPointer {
            try dev.write(UnsafeBufferPointer(rebasing: $0[p...]), to: outputRotary.sin, offset: 0)
        }
        let latents = TokenSet(rows: nLat, offsets: latentOffsets, rotary: latentRotary)

        // Encoder attention over the window's keys, then as `forward` (docs/spec.md §3.5).
        let shape = model.crossShape
        let attended = try B.tensor(nLat, inner)
        let lse = try B.tensor(nLat, heads)
        dev.attentionForward(
            q: q.matrix, k: kv.columns(0, inner), v: kv.columns(inner, inner), out: attended, lse: lse,
            queryOffsets: latentOffsets, keyOffsets: keyOffsets, heads: heads, headDim: headDim,
            scale: shape.scale, dropout: .none)
        B.rotate(attended.matrix, latents, shape, inverse: true)
        let z1 = try B.tensor(nLat, c.dim)
        B.linear(attended.matrix, rows: nLat, P.encoder.toOut, into: z1)
        dev.axpy(1, z0, z1)
        let (z2, _) = try B.feedForward(z1, P.encoderFeedForward, dropout: .none, outDropout: .none)
        dev.axpy(1, z1, z2)
        let noDropout: (Float) -> DropoutSpec = { _ in .none }
        var z = z2
        for layer in P.processor { z = try model.processLayer(layer, z, tokens: latents, drop: noDropout, B).0 }
        let output = TokenSet(rows: 1, offsets: outputOffsets, rotary: outputRotary)
        let prediction = try model.decode(
            z, sessions: sessionRow, queries: output, latentTokens: latents, drop: noDropout, arena: arena
        ).prediction
        try dev.download(prediction, into: out)
    }
}
