import Foundation

/// A set of recordings with the vocabularies the model embeds: unit ids and session ids, each
/// sorted (as torch_brain passes them to `initialize_vocab`), behind the padding row `"NA"`.
public struct Dataset: Sendable {
    public let recordings: [Recording]
    /// Source file of each recording (empty for in-memory datasets).
    public let files: [URL]
    public let unitVocabulary: Vocabulary
    public let sessionVocabulary: Vocabulary
    /// Repairs the readers made while loading (one line each; callers print them).
    public let warnings: [DataWarning]
    /// The settings each recording was read with, by session id (empty for in-memory datasets).
    public let settings: [String: RecordingSettings]
    /// Where each recording's settings came from (`perich_co (brainset …)`), by session id.
    public let presetNotes: [String: String]
    /// How long opening the files took (s), and how many indexes came from `RecordingIndexCache`
    /// (for the "opened … in …" line; nil and 0 for in-memory datasets).
    public var openSeconds: Double?
    public var indexCacheHits = 0

    /// Builds the vocabularies from `recordings`. Duplicate session or unit ids are an error.
    public init(
        recordings: [Recording], files: [URL] = [], warnings: [DataWarning] = [],
        settings: [String: RecordingSettings] = [:], presetNotes: [String: String] = [:]
    ) throws {
        self.recordings = recordings
        self.files = files
        self.warnings = warnings
        self.settings = settings
        self.presetNotes = presetNotes
        // Sessions first: a recording given twice is then reported as such, not as its first unit.
        do {
            sessionVocabulary = try Vocabulary(words: recordings.map(\.sessionID).sortedByCodePoint())
        } catch let VocabularyError.duplicate(word) {
            throw Dataset.duplicateSession(word, recordings: recordings, files: files)
        }
        do {
            unitVocabulary = try Vocabulary(words: recordings.flatMap(\.unitIDs).sortedByCodePoint())
        } catch let VocabularyError.duplicate(word) {
            throw Dataset.duplicateUnit(word, recordings: recordings, files: files)
        }
    }

    /// Names recording `i`: its file, else its position and session.
    private static func name(_ i: Int, _ recordings: [Recording], _ files: [URL]) -> String {
        files.indices.contains(i) ? files[i].path : "recording \(i + 1) (session \(recordings[i].sessionID))"
    }

    /// Two recordings with one session id: both named, and whether they look like one recording twice.
    static func duplicateSession(_ id: String, recordings: [Recording], files: [URL]) -> DataError {
        let at = recordings.indices.filter { recordings[$0].sessionID == id }
        guard at.count >= 2 else { return .invalid(file: "dataset", field: "session id", reason: "\"\(id)\" repeats") }
        let (a, b) = (at[0], at[1])
        let same =
            recordings[a].unitIDs == recordings[b].unitIDs && recordings[a].spikeCount == recordings[b].spikeCount
        return .invalid(
            file: name(a, recordings, files), field: "session id",
            reason: "session \"\(id)\" is also in \(name(b, recordings, files))"
                + (same ? " (same units and spike count: the same recording given twice?)" : ""))
    }

    /// A unit id held twice: the two recordings that hold it, or the one that lists it twice.
    static func duplicateUnit(_ id: String, recordings: [Recording], files: [URL]) -> DataError {
        let at = recordings.indices.filter { recordings[$0].unitIDs.contains(id) }
        guard let first = at.first else {
            return .invalid(file: "dataset", field: "units", reason: "\"\(id)\" repeats")
        }
        guard at.count >= 2 else {
            return .invalid(
                file: name(first, recordings, files), field: "units", reason: "unit \"\(id)\" is listed twice")
        }
        return .invalid(
            file: name(first, recordings, files), field: "units",
            reason: "unit \"\(id)\" is also in \(name(at[1], recordings, files))")
    }

    /// The dataset of recordings read from files, with the settings each was read with.
    public init(loaded: [LoadedRecording]) throws {
        var settings: [String: RecordingSettings] = [:]
        var notes: [String: String] = [:]
        for l in loaded {
            settings[l.recording.sessionID] = l.summary.settings
            notes[l.recording.sessionID] = l.summary.preset
        }
        try self.init(
            recordings: loaded.map(\.recording), files: loaded.map(\.file), warnings: loaded.flatMap(\.warnings),
            settings: settings, presetNotes: notes)
        indexCacheHits = loaded.filter(\.fromIndexCache).count
    }

    /// "opened 1000 recordings in 4.2 s, 998 indexes from the cache", for files read by the loaders.
    public var openingReport: String? {
        guard let openSeconds, !files.isEmpty else { return nil }
        let cached =
            indexCacheHits == 0
            ? ""
            : indexCacheHits == files.count
                ? ", every index from the cache" : ", \(indexCacheHits) indexes from the cache"
        return String(format: "opened %d recording%@ in %.1f s", files.count, files.count == 1 ? "" : "s", openSeconds)
            + cached
    }

    /// Loads every `*.h5` and `*.nwb` in `directory`, in file-name order (format detected per file;
    /// spikes read per window).
    public static func load(directory: URL, options: ReaderOptions = ReaderOptions()) throws -> Dataset {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDir) else {
            throw DataError.unreachable(directory.path)
        }
        guard isDir.boolValue else { throw DataError.io(path: directory.path, reason: "not a directory") }
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        } catch {
            throw DataError.io(path: directory.path, reason: "cannot list directory (\(error.localizedDescription))")
        }
        let files = names.filter { ($0.hasSuffix(".h5") || $0.hasSuffix(".nwb")) && !$0.hasPrefix(".") }
            .sorted(by: codePointOrder).map { directory.appendingPathComponent($0) }
        guard !files.isEmpty else { throw DataError.noRecordings(directory: directory.path) }
        let started = Date()
        var data = try Dataset(loaded: try RecordingReader.loadAll(files.map { ($0, options) }))
        data.openSeconds = Date().timeIntervalSince(started)
        return data
    }

    /// Indices of the recordings marked held-out ("new animal").
    public var heldOutIndices: [Int] { recordings.indices.filter { recordings[$0].heldOut } }

    /// A dataset of the recordings with `heldOut == flag`, with its own vocabularies
    /// (pre-training uses `subset(heldOut: false)`).
    public func subset(heldOut flag: Bool) throws -> Dataset {
        let keep = recordings.indices.filter { recordings[$0].heldOut == flag }
        let keptFiles = files.count == recordings.count ? keep.map { files[$0] } : []
        let paths = Set(keptFiles.map(\.path))
        let sessions = Set(keep.map { recordings[$0].sessionID })
        return try Dataset(
            recordings: keep.map { recordings[$0] }, files: keptFiles,
            warnings: warnings.filter { paths.isEmpty || paths.contains($0.file) },
            settings: settings.filter { sessions.contains($0.key) },
            presetNotes: presetNotes.filter { sessions.contains($0.key) })
    }

    public var sessionIDs: [String] { recordings.map(\.sessionID) }

    /// One line per preset in use: which sessions it set (`perich_co: c_…, c_… (brainset …)`), and
    /// the sessions read without one.
    public func settingsReport() -> [String] {
        guard !settings.isEmpty else { return [] }
        // Sessions without a preset are grouped by why (no match, or a preset they cannot take).
        // A note that names its own session ("no preset matches session 'x'") is grouped with the
        // same note of other sessions: a thousand sessions make one line, not a thousand.
        func general(_ id: String) -> String {
            (presetNotes[id] ?? "").replacingOccurrences(of: "'\(id)'", with: "'…'")
        }
        var groups: [String: [String]] = [:]
        for r in recordings {
            let key = (settings[r.sessionID]?.preset ?? "\u{0}") + "\u{1}" + general(r.sessionID)
            groups[key, default: []].append(r.sessionID)
        }
        return groups.sorted { $0.key < $1.key }.map { key, sessions in
            let shown = sessions.prefix(3).joined(separator: ", ") + (sessions.count > 3 ? ", …" : "")
            let why = sessions.count == 1 ? presetNotes[sessions[0]] ?? "" : general(sessions[0])
            let preset = key.hasPrefix("\u{0}") ? "" : String(key.prefix { $0 != "\u{1}" })
            if preset.isEmpty {
                return "no preset for \(sessions.count) session(s) (\(shown)): \(why)"
            }
            return "preset \(preset) for \(sessions.count) session(s) (\(shown)): \(why)"
        }
    }
}

/// Orders strings by Unicode code points, as Python's `sorted` does (Swift's `<` may not).
func codePointOrder(_ a: String, _ b: String) -> Bool {
    a.unicodeScalars.lexicographicallyPrecedes(b.unicodeScalars)
}

extension Sequence where Element == String {
    /// Sorted by Unicode code points (`codePointOrder`, Python's order). All-ASCII words, the usual
    /// ids, are sorted with Swift's `<`, which orders them the same way (by bytes) about ten times
    /// faster: a thousand sessions' 100,000 unit ids took a second with `codePointOrder` (issue 24).
    func sortedByCodePoint() -> [String] {
        let words = Array(self)
        if words.allSatisfy({ $0.utf8.allSatisfy { $0 < 0x80 } }) { return words.sorted() }
        return words.sorted(by: codePointOrder)
    }
}
