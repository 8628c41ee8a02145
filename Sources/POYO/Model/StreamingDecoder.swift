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
    /// Scratch cos/sin `[2, P]`: a pushed spike's angles (row 0), or the window's start and end (rows 0, 1).
    private var trigCos: [Float]
    private var trigSin: [Float]
    private let headDim: Int
    private let heads: Int
    /// Per unit, per token kind (0 spike, 1 START, 2 END), the unrotated `[k | v]`: `[3, U, 2·inner]`.
    private var baseKV: [Float] = []
    /// `[N_lat, inner]` unrotated encoder queries of the latents, and their times in the window.
    private var latentQ: [Float] = []
    private let latentTimes: [Double]
    /// Spikes in the window (oldest first, from `head`): times and rotated `[k | v]` rows.
    private var spikeTimes: [Double] = []
    private var spikeKV: [Float] = []  // [capacity, 2·inner]
    private var head = 0
    private var count = 0
    private var lastTime = -Double.infinity

    // Device tensors kept between updates (allocated once, or when the spike capacity grows).
    private var kv: Tensor  // [2·U + capacity, 2·inner]
    private var staging: [Float]  // host copy of kv
    private let keyOffsets: Tensor  // [2] Int32: 0, keys in use
    private let latentOffsets: Tensor  // [2] Int32: 0, N_lat
    private let outputOffsets: Tensor  // [2] Int32: 0, 1
    private let q: Tensor  // [N_lat, inner]
    private let z0: Tensor  // [N_lat, d] latent embeddings
    private let latentRotary: RotaryTensors  // [N_lat, P]
    private let outputRotary: RotaryTensors  // [1, P]
    private let sessionRow: Tensor  // [1] Int32

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
        trigCos = [Float](repeating: 0, count: 2 * omega.count)
        trigSin = [Float](repeating: 0, count: 2 * omega.count)
        let steps = Int((c.sequenceLength / c.latentStep).rounded(.down))
        let l = c.numLatentsPerStep
        latentTimes = (0..<(steps * l)).map { (Double($0 / l) + 0.5) * c.latentStep }
        let dev = model.device
        let nLat = latentTimes.count
        let units = unitIDs.count
        let capacity = max(capacity, 16)
        spikeTimes = [Double](repeating: 0, count: capacity)
        spikeKV = [Float](repeating: 0, count: capacity * 2 * inner)
        kv = try dev.makeTensor([2 * units + capacity, 2 * inner], dtype: .float32)
        staging = [Float](repeating: 0, count: (2 * units + capacity) * 2 * inner)
        keyOffsets = try dev.upload([Int32(0), 0], shape: [2])
        latentOffsets = try dev.upload([Int32(0), Int32(nLat)], shape: [2])
        outputOffsets = try dev.upload([Int32(0), 1], shape: [2])
        q = try dev.makeTensor([nLat, inner], dtype: .float32)
        let p = omega.count
        latentRotary = RotaryTensors(
            cos: try dev.makeTensor([nLat, p], dtype: .float32), sin: try dev.makeTensor([nLat, p], dtype: .float32))
        outputRotary = RotaryTensors(
            cos: try dev.makeTensor([1, p], dtype: .float32), sin: try dev.makeTensor([1, p], dtype: .float32))
        sessionRow = try dev.upload([Int32(row)], shape: [1])
        z0 = try dev.makeTensor([nLat, c.dim], dtype: .float32)
        let latentIndex = try dev.upload((0..<nLat).map { Int32($0 % l) }, shape: [nLat])
        dev.gatherRows(table: model.params.latentEmbedding.value, indices: latentIndex, out: z0, accumulate: false)
        try precompute(unitRows: unitIDs.map { Int32(model.unitVocab.row(of: $0)!) })
    }

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
    public var spikesKept: Int { count }

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
        let capacity = spikeTimes.count
        if count == capacity { try grow() }
        let slot = (head + count) % spikeTimes.count
        spikeTimes[slot] = time
        let width = 2 * inner
        angles(at: time, row: 0)
        spikeKV.withUnsafeMutableBufferPointer { out in
            baseKV.withUnsafeBufferPointer { base in
                let row = out.baseAddress! + slot * width
                row.update(from: base.baseAddress! + unit * width, count: width)
                rotate(row, cos: trigCos, sin: trigSin, columns: width)
            }
        }
        count += 1
    }

    /// Doubles the spike ring (the only allocation after creation, while the stream gets denser).
    private func grow() throws {
        let old = spikeTimes.count
        let width = 2 * inner
        var times = [Double](repeating: 0, count: 2 * old)
        var rows = [Float](repeating: 0, count: 2 * old * width)
        for i in 0..<count {
            let slot = (head + i) % old
            times[i] = spikeTimes[slot]
            for j in 0..<width { rows[i * width + j] = spikeKV[slot * width + j] }
        }
        spikeTimes = times
        spikeKV = rows
        head = 0
        let units = unitIDs.count
        kv = try model.device.makeTensor([2 * units + 2 * old, width], dtype: .float32)
        staging = [Float](repeating: 0, count: (2 * units + 2 * old) * width)
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

    /// cos/sin of `t·ω` (`[P]` each, the angles formed in Float64 as `RotaryTables` does) into the
    /// scratch rows `trigCos`/`trigSin` at row `row`.
    private func angles(at t: Double, row: Int) {
        let p = omega.count
        for k in 0..<p {
            let a = t * omega[k]
            trigCos[row * p + k] = Float(Foundation.cos(a))
            trigSin[row * p + k] = Float(Foundation.sin(a))
        }
    }

    /// The model's output `[dim_out]` at `t` (normalised units, as `forward`'s predictions) from
    /// the spikes in `[t − window, t)`. Spikes before `t − window` are dropped for good; those at or
    /// after `t` stay for later updates. `t` must not go back before a dropped spike's window.
    public func decode(at t: Double) throws -> [Float] {
        guard t.isFinite else { throw POYOError.streaming("decode time \(t) is not finite") }
        let start = t - window
        while count > 0 && spikeTimes[head] < start {
            head = (head + 1) % spikeTimes.count
            count -= 1
        }
        let dev = model.device
        let c = model.config
        let B = model.blocks
        let P = model.params
        let units = unitIDs.count
        let width = 2 * inner
        // Keys and values: each unit's START (at the window's start) and END (at its end), then the
        // kept spikes before t.
        var used = 2 * units
        angles(at: start, row: 0)
        angles(at: t, row: 1)
        let p = omega.count
        staging.withUnsafeMutableBufferPointer { out in
            let o = out.baseAddress!
            baseKV.withUnsafeBufferPointer { base in
                trigCos.withUnsafeBufferPointer { c in
                    trigSin.withUnsafeBufferPointer { s in
                        for u in 0..<units {
                            let startRow = o + (2 * u) * width
                            startRow.update(from: base.baseAddress! + (units + u) * width, count: width)
                            rotate(startRow, cos: c.baseAddress!, sin: s.baseAddress!, columns: width)
                            let endRow = o + (2 * u + 1) * width
                            endRow.update(from: base.baseAddress! + (2 * units + u) * width, count: width)
                            rotate(endRow, cos: c.baseAddress! + p, sin: s.baseAddress! + p, columns: width)
                        }
                    }
                }
            }
            spikeKV.withUnsafeBufferPointer { spikes in
                for i in 0..<count {
                    let slot = (head + i) % spikeTimes.count
                    guard spikeTimes[slot] < t else { break }
                    (o + used * width).update(from: spikes.baseAddress! + slot * width, count: width)
                    used += 1
                }
            }
        }
        try dev.write(staging, to: kv)
        try dev.write([Int32(0), Int32(used)], to: keyOffsets)
        // Latent queries at their times in this window: one cos/sin table rotates them here and
        // serves the device ops (the inverse rotation, the processor, the decoder's keys).
        let times = latentTimes.map { start + $0 }
        let (latentCos, latentSin) = RotaryTables.tables(times: times, omega: model.omega)
        var queries = latentQ
        queries.withUnsafeMutableBufferPointer { qp in
            latentCos.withUnsafeBufferPointer { c in
                latentSin.withUnsafeBufferPointer { s in
                    for r in 0..<times.count {
                        rotate(
                            qp.baseAddress! + r * inner, cos: c.baseAddress! + r * p, sin: s.baseAddress! + r * p,
                            columns: inner)
                    }
                }
            }
        }
        try dev.write(queries, to: q)
        try dev.write(latentCos, to: latentRotary.cos)
        try dev.write(latentSin, to: latentRotary.sin)
        try dev.write(Array(trigCos[p..<(2 * p)]), to: outputRotary.cos)
        try dev.write(Array(trigSin[p..<(2 * p)]), to: outputRotary.sin)
        let nLat = times.count
        let latents = TokenSet(rows: nLat, offsets: latentOffsets, rotary: latentRotary)

        // Encoder attention over the kept keys, then as `forward` (docs/spec.md §3.5).
        let shape = model.crossShape
        let out = try B.tensor(nLat, inner)
        let lse = try B.tensor(nLat, heads)
        dev.attentionForward(
            q: q.matrix, k: kv.columns(0, inner), v: kv.columns(inner, inner), out: out, lse: lse,
            queryOffsets: latentOffsets, keyOffsets: keyOffsets, heads: heads, headDim: headDim,
            scale: shape.scale, dropout: .none)
        B.rotate(out.matrix, latents, shape, inverse: true)
        let z1 = try B.tensor(nLat, c.dim)
        B.linear(out.matrix, rows: nLat, P.encoder.toOut, into: z1)
        dev.axpy(1, z0, z1)
        let (z2, _) = try B.feedForward(z1, P.encoderFeedForward, dropout: .none, outDropout: .none)
        dev.axpy(1, z1, z2)
        let noDropout: (Float) -> DropoutSpec = { _ in .none }
        let processed = try model.process(z2, tokens: latents, drop: noDropout).latents
        let output = TokenSet(rows: 1, offsets: outputOffsets, rotary: outputRotary)
        let prediction = try model.decode(
            processed[processed.count - 1], sessions: sessionRow, queries: output, latentTokens: latents,
            drop: noDropout
        ).prediction
        return try dev.download(prediction)
    }
}
