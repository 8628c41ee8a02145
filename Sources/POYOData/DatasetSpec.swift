import Foundation

/// One entry of a dataset config: a recording file (or a folder of them) and how to read it.
/// Field names follow torch_brain's dataset configs where it has one (`normalize_mean`,
/// `normalize_std`, `weights`, `eval_interval`); `DatasetConfig` (POYO) parses the YAML.
public struct RecordingSpec: Sendable, Equatable, Codable {
    /// A `.nwb` or brainsets `.h5` file, or a folder whose `*.nwb` / `*.h5` all share this entry.
    /// Relative paths resolve against `DatasetSpec.baseDirectory`.
    public var path: String
    /// `nil` detects the format from the file.
    public var format: RecordingFormat?
    /// Session id override (one file only).
    public var session: String?
    /// Behaviour to decode (`ReaderOptions.behaviour`): `hand_vel`, `finger_vel`, `cursor_vel`, `cursor.vel`, ...
    public var behaviour: String?
    /// Target normalisation, one value or one per dimension; `nil`: file attributes, else auto.
    public var normalizeMean: [Float]?
    public var normalizeStd: [Float]?
    /// Interval set → loss weight (`"movement_phases.reach_period": 5`); `nil`: Perich defaults
    /// for brainsets `movement_phases`, none for NWB.
    public var weights: [String: Float]?
    /// The eval mask: an interval set (`nlb_eval_intervals`, `movement_phases.reach_period`) or `all`.
    public var evalInterval: String?
    /// `nil`: `SplitRule.auto`.
    public var split: SplitRule?
    public var heldOut: Bool?
    /// torch_brain dataset class whose settings fill what this entry leaves open; `nil`: inferred.
    public var preset: PresetChoice?
    /// `normalize_std: auto`: normalise by the data's own statistics.
    public var normalizeFromData: Bool?

    public init(
        path: String, format: RecordingFormat? = nil, session: String? = nil, behaviour: String? = nil,
        normalizeMean: [Float]? = nil, normalizeStd: [Float]? = nil, weights: [String: Float]? = nil,
        evalInterval: String? = nil, split: SplitRule? = nil, heldOut: Bool? = nil
    ) {
        self.path = path
        self.format = format
        self.session = session
        self.behaviour = behaviour
        self.normalizeMean = normalizeMean
        self.normalizeStd = normalizeStd
        self.weights = weights
        self.evalInterval = evalInterval
        self.split = split
        self.heldOut = heldOut
    }

    /// `base` with this entry's settings applied.
    public func readerOptions(base: ReaderOptions = ReaderOptions()) -> ReaderOptions {
        var o = base
        o.format = format ?? base.format
        o.sessionID = session
        o.behaviour = behaviour ?? base.behaviour
        o.normalizationMean = normalizeMean ?? base.normalizationMean
        o.normalizationStd = normalizeStd ?? base.normalizationStd
        o.intervalWeights = weights ?? base.intervalWeights
        o.evalIntervals = evalInterval ?? base.evalIntervals
        o.split = split ?? base.split
        o.heldOut = heldOut ?? base.heldOut
        o.preset = preset ?? base.preset
        o.normalizeFromData = normalizeFromData ?? base.normalizeFromData
        return o
    }
}

/// A dataset config: the recordings to train on together, with one unit vocabulary and one
/// session vocabulary over all of them (`Dataset`).
public struct DatasetSpec: Sendable, Equatable {
    public var recordings: [RecordingSpec]
    /// Where relative paths start (the config file's folder); `nil`: the working directory.
    public var baseDirectory: URL?

    public init(recordings: [RecordingSpec], baseDirectory: URL? = nil) {
        self.recordings = recordings
        self.baseDirectory = baseDirectory
    }

    public static func == (a: DatasetSpec, b: DatasetSpec) -> Bool {
        a.recordings == b.recordings && a.baseDirectory?.standardizedFileURL == b.baseDirectory?.standardizedFileURL
    }

    /// The file(s) an entry names, in file-name order for folders.
    public func files(_ spec: RecordingSpec) throws -> [URL] {
        let url = resolvePath(spec.path, relativeTo: baseDirectory)
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir) else {
            throw DataError.unreachable(url.path)
        }
        guard isDir.boolValue else { return [url] }
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: url.path) } catch {
            throw DataError.io(path: url.path, reason: "cannot list directory (\(error.localizedDescription))")
        }
        let files = names.filter { ($0.hasSuffix(".h5") || $0.hasSuffix(".nwb")) && !$0.hasPrefix(".") }
            .sorted(by: codePointOrder).map { url.appendingPathComponent($0) }
        guard !files.isEmpty else { throw DataError.noRecordings(directory: url.path) }
        guard spec.session == nil || files.count == 1 else {
            throw DataError.io(
                path: url.path, reason: "'session' names one recording, but this folder holds \(files.count)")
        }
        return files
    }

    /// Reads every listed recording (each in an isolated child first, spikes lazily by default)
    /// and builds the shared vocabularies. Duplicate session ids are an error.
    public func load(options base: ReaderOptions = ReaderOptions()) throws -> Dataset {
        guard !recordings.isEmpty else {
            throw DataError.io(path: baseDirectory?.path ?? ".", reason: "the dataset lists no recordings")
        }
        let started = Date()
        var jobs: [(url: URL, options: ReaderOptions)] = []
        for spec in recordings {
            let options = spec.readerOptions(base: base)
            for url in try files(spec) { jobs.append((url, options)) }
        }
        var data = try Dataset(loaded: try RecordingReader.loadAll(jobs))
        data.openSeconds = Date().timeIntervalSince(started)
        return data
    }
}

/// A path from a config: as given when absolute or when there is no `base`, else under `base` (the
/// config file's folder); standardised. Every relative path of a config is resolved here.
public func resolvePath(_ path: String, relativeTo base: URL?) -> URL {
    guard let base, !path.hasPrefix("/") else { return URL(fileURLWithPath: path).standardizedFileURL }
    return base.appendingPathComponent(path).standardizedFileURL
}
