import Foundation

/// Moves a `LoadedRecording` from an `Isolation` child to its parent as bytes.
///
/// Arrays travel as raw little-endian values (a 1 kHz hour of behaviour is tens of MB, too much
/// for JSON); the summary and warnings as JSON. Lazy spikes travel as a plan: the byte layout of
/// the spike datasets (when contiguous and unfiltered) plus the window index the child built,
/// from which the parent makes `pread`-based sources. Spikes in chunked or compressed datasets,
/// which the parent could only read through libhdf5, travel as arrays instead.
enum RecordingTransfer {
    static func encode(_ l: LoadedRecording) throws -> [UInt8] {
        var w = ByteWriter()
        var recording = l.recording
        var summary = l.summary
        switch recording.spikeSource {
        case let s as SortedSpikeFile:
            if let times = s.times as? HDF5Dataset, let units = s.units as? HDF5Dataset,
                let tl = times.rawLayout(), let ul = units.rawLayout()
            {
                w.u8(1)
                w.layout(tl, field: times.field)
                w.layout(ul, field: units.field)
                w.int(s.unitCount)
                w.bool(s.secondIndex != nil)
                if let (origin, offsets) = s.secondIndex {
                    w.f64(origin)
                    w.ints(offsets)
                }
            } else {
                (recording.spikeTimes, recording.spikeUnit) = try s.allSpikes()
                recording.spikeSource = nil
                summary.spikeLookup = "in memory (spike datasets are chunked or compressed)"
                w.u8(0)
            }
        case let s as UnitSpikeFile:
            if let times = s.times as? HDF5Dataset, let tl = times.rawLayout() {
                w.u8(2)
                w.layout(tl, field: times.field)
                w.ints(s.unitStart)
                w.f64(s.origin)
                w.f64(s.width)
                w.int(s.buckets)
                w.int32s(s.offsets)
            } else {
                (recording.spikeTimes, recording.spikeUnit) = try s.allSpikes()
                recording.spikeSource = nil
                summary.spikeLookup = "in memory (units/spike_times is chunked or compressed)"
                w.u8(0)
            }
        default:
            if let s = recording.spikeSource {
                (recording.spikeTimes, recording.spikeUnit) = try s.allSpikes()
                recording.spikeSource = nil
            }
            w.u8(0)
        }
        w.recording(recording)
        w.json(summary)
        w.json(l.warnings)
        return w.bytes
    }

    static func decode(_ bytes: [UInt8], url: URL) throws -> LoadedRecording {
        let path = url.path
        var r = ByteReader(bytes: bytes, file: path)
        let plan = try r.u8()
        let file = plan == 0 ? nil : try RawFile(path: path)
        var source: (any SpikeSource)?
        switch plan {
        case 0: break
        case 1:
            let times = try r.column(file!)
            let units = try r.column(file!)
            let unitCount = try r.int()
            let index: (Double, [Int])? = try r.bool() ? (try r.f64(), try r.ints()) : nil
            guard times.count == units.count else { throw r.corrupt() }
            source = SortedSpikeFile(times: times, units: units, unitCount: unitCount, secondIndex: index)
        case 2:
            let times = try r.column(file!)
            let unitStart = try r.ints()
            let origin = try r.f64()
            let width = try r.f64()
            let buckets = try r.int()
            let offsets = try r.int32s()
            guard unitStart.last == times.count, unitStart.first == 0,
                zip(unitStart, unitStart.dropFirst()).allSatisfy({ $0 <= $1 }),
                buckets >= 0, offsets.count == max(1, (unitStart.count - 1) * (buckets + 1)), width > 0
            else { throw r.corrupt() }
            source = UnitSpikeFile(
                times: times, unitStart: unitStart, origin: origin, width: width, buckets: buckets, offsets: offsets)
        default: throw r.corrupt()
        }
        var recording = try r.recording()
        recording.spikeSource = source
        let summary = try r.json(RecordingSummary.self)
        let warnings = try r.json([DataWarning].self)
        try recording.validate(file: path)
        return LoadedRecording(recording: recording, warnings: warnings, summary: summary, file: url)
    }
}

// MARK: - Bytes

struct ByteWriter {
    var bytes: [UInt8] = []

    mutating func u8(_ v: UInt8) { bytes.append(v) }
    mutating func bool(_ v: Bool) { bytes.append(v ? 1 : 0) }
    mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
    mutating func int(_ v: Int) { u64(UInt64(bitPattern: Int64(v))) }
    mutating func f64(_ v: Double) { u64(v.bitPattern) }
    mutating func raw<T: BitwiseCopyable>(_ a: [T]) {
        int(a.count)
        a.withUnsafeBytes { bytes += $0 }  // little-endian host (x86-64, arm64)
    }
    mutating func doubles(_ a: [Double]) { raw(a) }
    mutating func floats(_ a: [Float]) { raw(a) }
    mutating func int32s(_ a: [Int32]) { raw(a) }
    mutating func ints(_ a: [Int]) { raw(a.map { Int64($0) }) }
    mutating func string(_ s: String) { raw(Array(s.utf8)) }
    mutating func strings(_ a: [String]) {
        int(a.count)
        for s in a { string(s) }
    }
    mutating func intervals(_ set: Intervals) {
        doubles(set.starts)
        doubles(set.ends)
    }
    mutating func json<T: Encodable>(_ v: T) { raw([UInt8]((try? JSONEncoder().encode(v)) ?? Data())) }
    mutating func layout(_ l: RawLayout, field: String) {
        string(field)
        int(l.count)
        int(l.elementSize)
        u8(l.kind.rawValue)
        bool(l.bigEndian)
        int(l.pieces.count)
        for p in l.pieces {
            int(p.firstRow)
            int(p.rows)
            u64(p.offset)
        }
    }

    mutating func recording(_ r: Recording) {
        string(r.sessionID)
        string(r.subjectID)
        bool(r.heldOut)
        intervals(r.domain)
        doubles(r.spikeTimes)
        int32s(r.spikeUnit)
        strings(r.unitIDs)
        doubles(r.behaviourTimes)
        floats(r.behaviour)
        int(r.behaviourDim)
        floats(r.position)
        floats(r.normalizationMean)
        floats(r.normalizationStd)
        intervals(r.trials)
        int(r.movementPhases.count)
        for (k, v) in r.movementPhases.sorted(by: { $0.key < $1.key }) {
            string(k)
            intervals(v)
        }
        intervals(r.trainDomain)
        intervals(r.validDomain)
        intervals(r.testDomain)
        int(r.lossWeights.count)
        for w in r.lossWeights {
            string(w.name)
            intervals(w.intervals)
            f64(Double(w.weight))
        }
        bool(r.evalIntervals != nil)
        if let e = r.evalIntervals { intervals(e) }
    }
}

/// Bounds-checked reading of what `ByteWriter` wrote; anything malformed is a `DataError`.
struct ByteReader {
    let bytes: [UInt8]
    let file: String
    var at = 0

    init(bytes: [UInt8], file: String) {
        self.bytes = bytes
        self.file = file
    }

    func corrupt() -> DataError { .io(path: file, reason: "the reader process sent a malformed result") }

    mutating func take(_ n: Int) throws -> ArraySlice<UInt8> {
        guard n >= 0, n <= bytes.count - at else { throw corrupt() }
        defer { at += n }
        return bytes[at..<(at + n)]
    }

    mutating func u8() throws -> UInt8 { try take(1).first! }
    mutating func bool() throws -> Bool { try u8() != 0 }
    mutating func u64() throws -> UInt64 {
        var v: UInt64 = 0
        for (i, b) in try take(8).enumerated() { v |= UInt64(b) << (8 * UInt64(i)) }
        return v
    }
    mutating func int() throws -> Int {
        let v = Int64(bitPattern: try u64())
        guard v >= Int64(Int.min), v <= Int64(Int.max) else { throw corrupt() }
        return Int(v)
    }
    mutating func f64() throws -> Double { Double(bitPattern: try u64()) }
    mutating func raw<T: BitwiseCopyable>(_: T.Type) throws -> [T] {
        let n = try int()
        let size = MemoryLayout<T>.stride
        guard n >= 0, n <= (bytes.count - at) / max(size, 1) else { throw corrupt() }
        let slice = try take(n * size)
        return [T](unsafeUninitializedCapacity: n) { buf, count in
            slice.withUnsafeBytes { src in
                if n > 0 { UnsafeMutableRawBufferPointer(buf).copyMemory(from: src) }
            }
            count = n
        }
    }
    mutating func doubles() throws -> [Double] { try raw(Double.self) }
    mutating func floats() throws -> [Float] { try raw(Float.self) }
    mutating func int32s() throws -> [Int32] { try raw(Int32.self) }
    mutating func ints() throws -> [Int] { try raw(Int64.self).map { Int($0) } }
    mutating func string() throws -> String { String(decoding: try raw(UInt8.self), as: UTF8.self) }
    mutating func strings() throws -> [String] {
        let n = try int()
        guard n >= 0, n <= bytes.count - at else { throw corrupt() }
        return try (0..<n).map { _ in try string() }
    }
    mutating func intervals() throws -> Intervals {
        let s = try doubles()
        let e = try doubles()
        guard s.count == e.count else { throw corrupt() }
        return Intervals(starts: s, ends: e)
    }
    mutating func json<T: Decodable>(_: T.Type) throws -> T {
        do { return try JSONDecoder().decode(T.self, from: Data(try raw(UInt8.self))) } catch { throw corrupt() }
    }
    mutating func column(_ file: RawFile) throws -> RawColumn {
        let field = try string()
        let count = try int()
        let size = try int()
        guard let kind = RawLayout.Kind(rawValue: try u8()), [1, 2, 4, 8].contains(size), count >= 0 else {
            throw corrupt()
        }
        let bigEndian = try bool()
        let n = try int()
        guard n >= 0, n <= (bytes.count - at) / 24 else { throw corrupt() }
        let pieces = try (0..<n).map { _ in RawLayout.Piece(firstRow: try int(), rows: try int(), offset: try u64()) }
        let layout = RawLayout(pieces: pieces, count: count, elementSize: size, kind: kind, bigEndian: bigEndian)
        return try RawColumn(file: file, field: field, layout: layout)
    }

    mutating func recording() throws -> Recording {
        let session = try string()
        let subject = try string()
        let held = try bool()
        let domain = try intervals()
        let spikeTimes = try doubles()
        let spikeUnit = try int32s()
        let unitIDs = try strings()
        let times = try doubles()
        let behaviour = try floats()
        let dim = try int()
        let position = try floats()
        let mean = try floats()
        let std = try floats()
        let trials = try intervals()
        var phases: [String: Intervals] = [:]
        let nPhases = try int()
        guard nPhases >= 0, nPhases <= bytes.count - at else { throw corrupt() }
        for _ in 0..<nPhases {
            let k = try string()
            phases[k] = try intervals()
        }
        let train = try intervals()
        let valid = try intervals()
        let test = try intervals()
        var weights: [WeightedIntervals] = []
        let nWeights = try int()
        guard nWeights >= 0, nWeights <= bytes.count - at else { throw corrupt() }
        for _ in 0..<nWeights {
            let name = try string()
            let set = try intervals()
            weights.append(WeightedIntervals(name: name, intervals: set, weight: Float(try f64())))
        }
        let eval = try bool() ? try intervals() : nil
        return Recording(
            sessionID: session, subjectID: subject, heldOut: held, domain: domain,
            spikeTimes: spikeTimes, spikeUnit: spikeUnit, unitIDs: unitIDs,
            behaviourTimes: times, behaviour: behaviour, behaviourDim: dim, position: position,
            normalizationMean: mean, normalizationStd: std, trials: trials, movementPhases: phases,
            trainDomain: train, validDomain: valid, testDomain: test,
            lossWeights: weights, evalIntervals: eval)
    }
}
