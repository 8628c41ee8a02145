import Foundation

/// File formats we read.
public enum RecordingFormat: String, Sendable, Codable, CaseIterable {
    /// brainsets / temporaldata HDF5 (`Data.to_hdf5`, docs/spec.md §1.2).
    case brainsets
    /// NWB 2.x (HDF5), in the DANDI / Neural Latents Benchmark layout (docs/spec.md §1.3).
    case nwb
}

/// How a recording's time is divided into training, validation and test intervals (docs/spec.md §1.4).
public enum SplitRule: Sendable, Equatable, Codable {
    /// brainsets: the file's `train_domain`/`valid_domain`/`test_domain`, else as `.trials`;
    /// NWB: the trials table's `split` column when present, else `.trials`, else `.time`.
    case auto
    /// The file's `train_domain`, `valid_domain`, `test_domain` (brainsets).
    case file
    /// NLB: trials marked `train` are split `1 − validFraction : validFraction` into train and
    /// valid (seeded shuffle), trials marked `val` become test; `test` trials are ignored.
    case splitColumn(validFraction: Double, seed: UInt64)
    /// Trials shuffled (seeded) into train/valid/test fractions; valid and test are the trial
    /// intervals, train is the domain minus both dilated by 1 s (so inter-trial time trains too).
    case trials(train: Double, valid: Double, test: Double, seed: UInt64)
    /// Consecutive blocks of the domain: the first `train` fraction, then `valid`, then the rest.
    case time(train: Double, valid: Double, test: Double)

    public static let nlb = SplitRule.splitColumn(validFraction: 0.2, seed: 42)
    public static let trials70_10_20 = SplitRule.trials(train: 0.7, valid: 0.1, test: 0.2, seed: 42)
    public static let time70_10_20 = SplitRule.time(train: 0.7, valid: 0.1, test: 0.2)

    public var description: String {
        switch self {
        case .auto: return "auto"
        case .file: return "file domains (train_domain/valid_domain/test_domain)"
        case .splitColumn(let v, let seed):
            return
                "trials.split column (train → \(Int(((1 - v) * 100).rounded()))/\(Int((v * 100).rounded())) "
                + "train/valid, seed \(seed); val → test)"
        case .trials(let a, let b, let c, let seed):
            return "trials shuffled \(pct(a))/\(pct(b))/\(pct(c)) (seed \(seed)), train = domain − (valid ∪ test) ± 1 s"
        case .time(let a, let b, let c): return "time blocks \(pct(a))/\(pct(b))/\(pct(c))"
        }
    }
}

private func pct(_ x: Double) -> String { String(Int((x * 100).rounded())) }

/// What to read from a recording and how to weight and split it. Defaults suit Perich-style
/// brainsets files and NLB NWB files; a dataset config (`RecordingSpec`) sets them per file.
public struct ReaderOptions: Sendable, Codable {
    /// `nil` detects the format from the file.
    public var format: RecordingFormat?
    /// The behaviour to decode. brainsets: `"cursor.vel"`, `"hand.vel"`, `"finger"` (column `vel`)
    /// or a group path; NWB: a series under `processing/behavior` (`"hand_vel"`,
    /// `"Velocity/cursor_vel"`) or a full path. `nil`: brainsets `cursor`, `hand`, then `finger`;
    /// NWB `hand_vel`, `finger_vel`, `cursor_vel`, then velocity derived from the matching
    /// `*_pos` series.
    public var behaviour: String?
    /// Loss weight of each `movement_phases` child (docs/spec.md §4.3, Perich CO); used when
    /// `intervalWeights` is nil.
    public var phaseWeights: [String: Float] = [
        "hold_period": 0.1, "reach_period": 5.0, "return_period": 1.0, "random_period": 1.0, "invalid": 0.1,
    ]
    /// Weight of `cursor_outlier_segments` when present (Perich: 0); used when `intervalWeights` is nil.
    public var outlierWeight: Float = 0
    /// Interval set → loss weight (`"movement_phases/reach_period": 5`; dots work as slashes).
    /// When set, replaces `phaseWeights` and `outlierWeight`; sets absent from a file are skipped.
    public var intervalWeights: [String: Float]?
    /// `movement_phases` child that forms the eval mask when `evalIntervals` is nil.
    public var evalPhase: String? = "reach_period"
    /// The interval set whose samples are scored (`"nlb_eval_intervals"`,
    /// `"movement_phases/reach_period"`, `"all"`). `nil`: `movement_phases/<evalPhase>`, else
    /// `nlb_eval_intervals`, else (NWB with `move_onset_time`) move onset −50…+650 ms, else all.
    public var evalIntervals: String?
    /// Target normalisation `(v − mean) / std`, one value (all dims) or one per dim. `nil`: the
    /// file's `poyo_norm_*` attributes, else mean 0 and the standard deviation of all finite values.
    public var normalizationMean: [Float]?
    public var normalizationStd: [Float]?
    public var split: SplitRule = .auto
    /// Overrides the session id (NWB default: `general/session_id`, else the file name).
    public var sessionID: String?
    /// Overrides the file's held-out flag.
    public var heldOut: Bool?
    /// Where open settings come from: a preset inferred from the file (default), none, or a named one.
    public var preset: PresetChoice = .infer
    /// Normalise by the data's own statistics (mean 0, pooled std), ignoring presets and file attributes.
    public var normalizeFromData = false
    /// Settings a checkpoint carries, by session id: they fill what these options leave open
    /// before any preset (`poyo eval` reads a recording as it was trained on).
    public var knownSettings: [String: RecordingSettings]?
    /// Read spikes per window from the file (true) or load them whole.
    public var lazySpikes = true
    /// Read the file in a child process first (`Isolation`), so a corrupt file cannot crash us.
    public var isolate = true
    /// Limit for that child; `nil`: `Isolation.defaultTimeout`.
    public var timeout: Double?
    /// Where the child's result is kept for the next start (`RecordingIndexCache`); used only
    /// with `isolate`.
    public var indexCache: IndexCacheChoice = .automatic

    public init() {}
}

/// One behaviour time series found in a file.
public struct BehaviourSeries: Codable, Sendable, Equatable {
    /// Group path, e.g. `cursor` or `processing/behavior/hand_vel`.
    public var name: String
    /// `IrregularTimeSeries`, `RegularTimeSeries`, `TimeSeries (timestamps)`, `TimeSeries (starting_time + rate)`.
    public var kind: String
    /// Sampling rate: nominal, or 1 / median interval for irregular series.
    public var rateHz: Double?
    /// Column name → shape.
    public var columns: [String: [Int]]
}

/// Time covered by one split.
public struct SplitSummary: Codable, Sendable, Equatable {
    public var intervals: Int
    public var seconds: Double
    /// Intervals shorter than a 1 s window (used through windows around them), and those no 1 s
    /// window inside the recorded domain can hold (skipped), with their seconds.
    public var short: Int
    public var skipped: Int
    public var skippedSeconds: Double

    init(_ set: Intervals, domain: Intervals, window: Double = 1.0) {
        intervals = set.count
        seconds = set.totalLength
        let c = SequentialFixedWindowSampler(intervals: [set], domains: [domain], windowLength: window).coverage[0]
        short = c.short
        skipped = c.skipped
        skippedSeconds = c.skippedSeconds
    }
}

/// What a reader found, for `poyo inspect` and logs.
public struct RecordingSummary: Codable, Sendable, Equatable {
    public var format: RecordingFormat
    public var sessionID: String
    public var subjectID: String
    public var units: Int
    public var spikes: Int
    /// `[[start, end]]` of the recording's domain.
    public var domain: [[Double]]
    public var duration: Double
    public var absoluteStart: Double?
    /// Spikes of each unit, in unit order.
    public var unitSpikeCounts: [Int]
    public var behaviour: [BehaviourSeries]
    /// The decoded behaviour: `cursor.vel`, `processing/behavior/hand_vel`, ...
    public var target: String
    /// Set when the target is velocity derived from a position series.
    public var derivedFrom: String?
    /// Samples of the target with a non-finite value (masked out of loss and metrics).
    public var nonFiniteSamples: Int
    public var normalizationMean: [Float]
    public var normalizationStd: [Float]
    public var normalizationSource: String
    public var trials: Int
    public var trialColumns: [String]
    public var splitRule: String
    public var train: SplitSummary
    public var valid: SplitSummary
    public var test: SplitSummary
    public var evalIntervals: String
    public var lossWeights: [String: Float]
    /// How window spikes are found: `timestamp_indices_1s`, `binary search`, `per-unit index`, `in memory`.
    public var spikeLookup: String
    /// Where the settings came from: `perich_co (brainset …)`, `none (…)`, `the checkpoint's settings`.
    public var preset: String?
    /// A settings problem that did not stop the read, e.g. an inferred preset the file cannot take
    /// (`poyo inspect` lists it under problems).
    public var settingsNote: String?
    /// The settings the recording was read with (what a checkpoint carries).
    public var settings: RecordingSettings?
}

/// A recording with what its reader noticed.
public struct LoadedRecording: Sendable {
    public var recording: Recording
    public var warnings: [DataWarning]
    public var summary: RecordingSummary
    public var file: URL
    /// Whether the index came from `RecordingIndexCache` (no reader child ran).
    public var fromIndexCache = false
}

/// Reads one recording file of either format: detects the format, runs the read in an isolated
/// child first (`Isolation`), then reads in-process.
public enum RecordingReader {
    public static func read(_ url: URL, options: ReaderOptions = ReaderOptions()) throws -> Recording {
        try load(url, options: options).recording
    }

    public static func load(_ url: URL, options: ReaderOptions = ReaderOptions()) throws -> LoadedRecording {
        var format: RecordingFormat?
        return try load(url, options: options, detected: &format)
    }

    /// `load`, also reporting the detected format when the read fails after detection.
    public static func load(_ url: URL, options: ReaderOptions, detected: inout RecordingFormat?) throws
        -> LoadedRecording
    {
        try load(url, options: options, detected: &detected, trim: true)
    }

    /// `trim`: give the transfer buffers' pages back to the system at once (`loadAll` does it once
    /// for all files instead: `malloc_trim` walks the whole heap, so per file it grew as N²).
    static func load(_ url: URL, options: ReaderOptions, detected: inout RecordingFormat?, trim: Bool) throws
        -> LoadedRecording
    {
        guard var read = try IsolatedRead(url, options) else {
            return try loadInProcess(url, options, detected: &detected)
        }
        if let loaded = read.cached() { return loaded }
        read.noteIdentity()
        let outcome = try Isolation.run(file: read.path, timeout: read.timeout, job: read.job)
        defer { if trim { returnFreedMemory() } }  // the transfer buffers
        return try read.finish(outcome, detected: &detected)
    }

    /// Loads many files, `workers` at a time (default: one per core, at most 8), each as `load`
    /// does: from the index cache, else in a reader child, several files to a child (a child's
    /// start-up was most of a cold start at a thousand files). Results come in the order given;
    /// when files fail, the first failing one (in that order) is reported, and no batch of files
    /// after it is started.
    public static func loadAll(_ files: [(url: URL, options: ReaderOptions)], workers: Int? = nil) throws
        -> [LoadedRecording]
    {
        let count = workers ?? min(8, ProcessInfo.processInfo.activeProcessorCount)
        defer { returnFreedMemory() }
        // Index-cache hits and in-process reads first; the rest wait for a child.
        var slots = try ParallelMap.run(files.count, workers: count) { i -> Slot in
            do {
                guard let read = try IsolatedRead(files[i].url, files[i].options) else {
                    var detected: RecordingFormat?
                    return .done(.success(try loadInProcess(files[i].url, files[i].options, detected: &detected)))
                }
                return read.cached().map { .done(.success($0)) } ?? .pending(read)
            } catch {
                return .done(.failure(error))
            }
        }
        // Past a failure only what could fail earlier in the order is read: no later file is started.
        let failed = slots.firstIndex { if case .done(.failure) = $0 { true } else { false } } ?? files.count
        let pending = slots.indices.compactMap { i -> (index: Int, read: IsolatedRead)? in
            guard i < failed, case .pending(let read) = slots[i] else { return nil }
            return (i, read)
        }
        // Enough batches to keep every worker busy to the end, few enough to amortise start-ups.
        let size = max(1, min(32, pending.count / max(1, 4 * count)))
        let batches = stride(from: 0, to: pending.count, by: size).map {
            Array(pending[$0..<min($0 + size, pending.count)])
        }
        let results = try ParallelMap.run(batches.count, workers: count) { b in
            var reads = batches[b].map(\.read)
            for k in reads.indices { reads[k].noteIdentity() }
            let outcomes = try Isolation.runBatch(
                files: reads.map(\.path), timeouts: reads.map(\.timeout), jobs: reads.map(\.job))
            // The batch's first failure stops later batches from starting (`ParallelMap`).
            return try zip(reads, outcomes).map { read, outcome in
                var detected: RecordingFormat?
                return try read.finish(outcome, detected: &detected)
            }
        }
        for (b, batch) in results.enumerated() {
            for (entry, loaded) in zip(batches[b], batch) { slots[entry.index] = .done(.success(loaded)) }
        }
        // Every file before the first failure is read now, so the failure (if any) is met before
        // a file that was never started.
        return try slots.map { slot in
            guard case .done(let result) = slot else { preconditionFailure("a file was left unread") }
            return try result.get()
        }
    }

    /// A file of `loadAll`: read (or failed), or waiting for a reader child.
    private enum Slot {
        case done(Result<LoadedRecording, Error>)
        case pending(IsolatedRead)
    }

    static func loadInProcess(_ url: URL, _ options: ReaderOptions, detected: inout RecordingFormat?) throws
        -> LoadedRecording
    {
        let f = try HDF5File(readingAt: url.path)
        let format = try options.format ?? detectFormat(f)
        detected = format
        Isolation.note("format", format.rawValue)
        switch format {
        case .brainsets: return try BrainsetsReader.load(f, url: url, options: options)
        case .nwb: return try NWBReader.load(f, url: url, options: options)
        }
    }

    /// NWB when the root has `nwb_version` (or `neurodata_type` = NWBFile); otherwise brainsets.
    public static func detectFormat(_ url: URL) throws -> RecordingFormat {
        try detectFormat(HDF5File(readingAt: url.path))
    }

    static func detectFormat(_ f: HDF5File) throws -> RecordingFormat {
        if f.hasAttribute("nwb_version", at: "/") { return .nwb }
        if f.hasAttribute("neurodata_type", at: "/"), try f.attributeString("neurodata_type", at: "/") == "NWBFile" {
            return .nwb
        }
        return .brainsets
    }
}

/// One file read through a reader child (`Isolation`) with the recording index cache in front:
/// nil from `init` when the file is read in-process (isolation off or unsupported, or we are a
/// reader child ourselves).
struct IsolatedRead {
    let url: URL
    let path: String
    let options: ReaderOptions
    /// Seconds the child may take (`ReaderOptions.timeout`, else `Isolation.defaultTimeout`).
    let timeout: Double
    let cache: URL?
    let absolute: String
    let key: String
    /// Taken just before the read (`noteIdentity`): an entry is kept only if the file did not
    /// change meanwhile.
    private(set) var identity: RecordingIndexCache.Identity?

    init?(_ url: URL, _ options: ReaderOptions) throws {
        guard options.isolate && Isolation.isSupported && !Isolation.inProbeChild else { return nil }
        self.url = url
        path = url.path
        self.options = options
        var st = stat()
        guard stat(path, &st) == 0 else { throw DataError.unreachable(path) }
        timeout = options.timeout ?? Isolation.defaultTimeout(fileBytes: Int(st.st_size))
        cache = RecordingIndexCache.folder(options.indexCache)
        absolute = URL(fileURLWithPath: path).standardizedFileURL.path
        key = cache == nil ? "" : RecordingIndexCache.key(options)
    }

    /// Takes the file's identity before the child reads it (not needed for a cache hit).
    mutating func noteIdentity() {
        identity = cache == nil ? nil : RecordingIndexCache.Identity(path: path)
    }

    var job: Isolation.Job { .read(path: path, options: options) }

    /// The recording from a current index-cache entry, if there is one.
    func cached() -> LoadedRecording? {
        guard let cache else { return nil }
        var stale = false
        guard let payload = RecordingIndexCache.lookup(folder: cache, path: absolute, key: key, stale: &stale),
            var loaded = try? RecordingTransfer.decode(payload, url: url)
        else { return nil }
        loaded.fromIndexCache = true
        return loaded
    }

    /// The recording the child sent (kept in the index cache), or the error it reported. The
    /// child read the file; this process only decodes the result (and later reads spike windows
    /// with pread), so libhdf5 never parses an untrusted file here.
    func finish(_ outcome: Isolation.Outcome, detected: inout RecordingFormat?) throws -> LoadedRecording {
        detected = outcome.notes["format"].flatMap(RecordingFormat.init(rawValue:))
        if let e = outcome.error { throw e }
        guard let result = outcome.result else {
            throw DataError.io(path: path, reason: "the reader process sent no result")
        }
        let loaded = try RecordingTransfer.decode(result, url: url)
        if let cache, let identity {
            RecordingIndexCache.store(folder: cache, path: absolute, key: key, identity: identity, payload: result)
        }
        return loaded
    }
}

/// glibc's `malloc_trim(0)` (not in Swift's Glibc module): gives freed heap pages back to the
/// system, so a large transient buffer does not stay in the resident set while training.
func returnFreedMemory() {
    #if os(Linux)
        typealias Trim = @convention(c) (Int) -> Int32
        if let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "malloc_trim") {
            _ = unsafeBitCast(symbol, to: Trim.self)(0)
        }
    #endif
}

// MARK: - Shared helpers for both readers

/// Resolves normalisation: options, then the file's values, then mean 0 / pooled std of the data.
func resolveNormalization(
    _ o: ReaderOptions, dim: Int, fileMean: [Float]?, fileStd: [Float]?, values: [Float],
    file: String, field: String
) throws -> (mean: [Float], std: [Float], source: String) {
    func expand(_ v: [Float], _ what: String) throws -> [Float] {
        if v.count == 1 { return [Float](repeating: v[0], count: dim) }
        guard v.count == dim else {
            throw DataError.invalid(
                file: file, field: field, reason: "\(what) has \(v.count) values for \(dim) dimensions")
        }
        return v
    }
    var source = "config"
    var mean: [Float]
    var std: [Float]
    let fileMean = o.normalizeFromData ? nil : fileMean
    let fileStd = o.normalizeFromData ? nil : fileStd
    if let m = o.normalizationMean, !o.normalizeFromData {
        mean = try expand(m, "normalisation mean")
    } else if let m = fileMean {
        mean = try expand(m, "file normalisation mean")
        source = "file"
    } else {
        mean = [Float](repeating: 0, count: dim)
        source = "auto"
    }
    if let s = o.normalizationStd, !o.normalizeFromData {
        std = try expand(s, "normalisation std")
    } else if let s = fileStd {
        std = try expand(s, "file normalisation std")
        if source != "config" { source = "file" }
    } else {
        var sum = 0.0
        var sq = 0.0
        var n = 0.0
        for v in values where v.isFinite {
            sum += Double(v)
            sq += Double(v) * Double(v)
            n += 1
        }
        let variance = n > 1 ? max(0, sq / n - (sum / n) * (sum / n)) : 0
        let s = Float(variance.squareRoot())
        std = [Float](repeating: s > 0 && s.isFinite ? s : 1, count: dim)
        source =
            (o.normalizationMean == nil || o.normalizeFromData) && fileMean == nil ? "auto" : "\(source) mean, auto std"
    }
    guard std.allSatisfy({ $0.isFinite && $0 > 0 }), mean.allSatisfy(\.isFinite) else {
        throw DataError.invalid(
            file: file, field: field,
            reason: "normalisation needs finite means and positive stds, got mean \(mean) std \(std)")
    }
    return (mean, std, source)
}

/// The three split domains by rule (`.file` and `.auto` are resolved by the caller).
func splitDomains(
    _ rule: SplitRule, domain: Intervals, trials: Intervals, splitLabels: [String]?,
    file: String
) throws -> (train: Intervals, valid: Intervals, test: Intervals) {
    switch rule {
    case .auto, .file:
        return (Intervals(), Intervals(), Intervals())
    case .splitColumn(let validFraction, let seed):
        guard let labels = splitLabels, labels.count == trials.count else {
            throw DataError.missing(file: file, field: "intervals/trials/split")
        }
        var train = trials.indices.filter { labels[$0] == "train" }
        let test = trials.indices.filter { labels[$0] == "val" }
        var rng = SeededRNG(seed: seed)
        rng.shuffle(&train)
        let nValid = Int((Double(train.count) * validFraction).rounded())
        let valid = train.prefix(nValid).sorted()
        let trainIdx = train.dropFirst(nValid).sorted()
        return (
            Intervals(trainIdx.map { trials[$0] }), Intervals(valid.map { trials[$0] }),
            Intervals(test.map { trials[$0] })
        )
    case .trials(_, let v, let t, let seed):
        guard !trials.isEmpty else {
            return try splitDomains(
                .time(train: 1 - v - t, valid: v, test: t), domain: domain,
                trials: trials, splitLabels: nil, file: file)
        }
        var rng = SeededRNG(seed: seed)
        let order = rng.permutation(trials.count)
        let nValid = Int((Double(trials.count) * v).rounded())
        let nTest = Int((Double(trials.count) * t).rounded())
        let valid = Intervals(order.prefix(nValid).sorted().map { trials[$0] })
        let test = Intervals(order.dropFirst(nValid).prefix(nTest).sorted().map { trials[$0] })
        return (domain.subtracting(valid.union(test).dilated(by: 1.0)), valid, test)
    case .time(let a, let v, _):
        guard let first = domain.items.first?.start, let last = domain.items.last?.end, last > first else {
            return (Intervals(), Intervals(), Intervals())
        }
        let span = last - first
        let t1 = first + span * a
        let t2 = t1 + span * v
        let cut = { (lo: Double, hi: Double) in
            domain.subtracting(Intervals([Interval(-Double.infinity, lo), Interval(hi, Double.infinity)]))
        }
        return (cut(first, t1), cut(t1, t2), cut(t2, last))
    }
}

/// The tail both readers run on a behaviour series `[T, dim]` once its values and times are read:
/// times sorted and finite (`timesField` named if not), velocity derived from position when
/// `derivedNote` says so (with that warning), and the count of non-finite rows (warned, then masked).
/// Returns the final values and that count.
func finishBehaviour(
    _ values: [Float], times: [Double], dim: Int, timesField: String, derivedNote: String?, file: String,
    field: String, warnings: inout [DataWarning]
) throws -> (values: [Float], nonFinite: Int) {
    try checkSortedFinite(times, field: timesField, file: file)
    var values = values
    if let derivedNote {
        values = differentiate(values, times: times, dim: dim)
        warnings.append(DataWarning(file: file, field: field, message: derivedNote))
    }
    let (nonFinite, warning) = nonFiniteWarning(values, dim: dim, count: times.count, file: file, field: field)
    if let warning { warnings.append(warning) }
    return (values, nonFinite)
}

/// Velocity from position by central differences over the sample times (one-sided at the ends),
/// `[T, dim]` row-major; NaN where a neighbour is NaN.
func differentiate(_ pos: [Float], times: [Double], dim: Int) -> [Float] {
    let n = times.count
    var v = [Float](repeating: .nan, count: pos.count)
    guard n >= 2 else { return v }
    for i in 0..<n {
        let a = max(0, i - 1)
        let b = min(n - 1, i + 1)
        let dt = times[b] - times[a]
        guard dt > 0 else { continue }
        for k in 0..<dim { v[i * dim + k] = Float(Double(pos[b * dim + k] - pos[a * dim + k]) / dt) }
    }
    return v
}

/// Rows of `[T, dim]` values with any non-finite entry.
/// The warning both readers give when behaviour samples are not finite (they are masked), or nil.
func nonFiniteWarning(_ values: [Float], dim: Int, count: Int, file: String, field: String) -> (Int, DataWarning?) {
    let n = nonFiniteRows(values, dim: dim)
    guard n > 0 else { return (0, nil) }
    return (
        n,
        DataWarning(
            file: file, field: field, message: "\(n) of \(count) samples are not finite; masked out of loss and metrics"
        )
    )
}

func nonFiniteRows(_ values: [Float], dim: Int) -> Int {
    guard dim > 0 else { return 0 }
    var n = 0
    var i = 0
    while i + dim <= values.count {
        var finite = true
        for k in 0..<dim where !values[i + k].isFinite { finite = false }
        if !finite { n += 1 }
        i += dim
    }
    return n
}

/// 1 / median sample interval (over the first 201 samples: enough for a rate, cheap for long series).
func estimatedRate(_ times: [Double]) -> Double? {
    let n = min(times.count, 201)
    guard n >= 2 else { return nil }
    var d: [Double] = []
    d.reserveCapacity(n - 1)
    for i in 1..<n where times[i] > times[i - 1] { d.append(times[i] - times[i - 1]) }
    guard !d.isEmpty else { return nil }
    d.sort()
    return 1 / d[d.count / 2]
}

/// Clips split domains to the recording's domain, warning when something was cut.
func clipSplits(_ r: inout Recording, file: String, warnings: inout [DataWarning]) {
    func clip(_ set: Intervals, _ name: String) -> Intervals {
        let outside = set.subtracting(r.domain)
        guard outside.totalLength > 1e-9 else { return set }
        warnings.append(
            DataWarning(
                file: file, field: name,
                message: String(format: "%.3f s lie outside the recording's domain; clipped to it", outside.totalLength)
            ))
        return set.subtracting(outside)
    }
    r.trainDomain = clip(r.trainDomain, "train_domain")
    r.validDomain = clip(r.validDomain, "valid_domain")
    r.testDomain = clip(r.testDomain, "test_domain")
}

/// Sorts in-memory spikes by (time, unit) — the documented repair for unsorted files.
func sortSpikes(_ times: inout [Double], _ units: inout [Int32]) {
    let order = times.indices.sorted { times[$0] < times[$1] || (times[$0] == times[$1] && units[$0] < units[$1]) }
    times = order.map { times[$0] }
    units = order.map { units[$0] }
}

/// Warns about units without a spike (they still get START/END tokens, as in torch_brain).
func emptyUnitWarning(_ perUnit: [Int], ids: [String], file: String, field: String) -> DataWarning? {
    let empty = perUnit.indices.filter { perUnit[$0] == 0 }
    guard !empty.isEmpty else { return nil }
    let names = empty.prefix(5).map { ids.indices.contains($0) ? "\"\(ids[$0])\"" : "#\($0)" }.joined(separator: ", ")
    return DataWarning(
        file: file, field: field,
        message:
            "\(empty.count) unit(s) have no spikes (\(names)\(empty.count > 5 ? ", ..." : "")); kept, with "
            + "START/END tokens only"
    )
}
