import Foundation

/// Firing rates over a recording's units (spikes per unit / duration).
public struct SpikeRateSummary: Codable, Sendable, Equatable {
    public var meanHz: Double
    public var medianHz: Double
    public var minHz: Double
    public var maxHz: Double
    /// Units without a single spike.
    public var silentUnits: Int
}

/// What `poyo inspect` reports about one file: the reader's summary, firing rates, and every
/// warning; or the error that stopped the read.
public struct FileInspection: Codable, Sendable, Equatable {
    public var path: String
    /// `nwb` or `brainsets`; nil when the file could not be opened as HDF5.
    public var format: RecordingFormat?
    public var summary: RecordingSummary?
    public var spikeRate: SpikeRateSummary?
    /// One line each, `file: warning: 'field': message`.
    public var warnings: [String]
    /// Settings that do not fit the file (a preset it cannot take, a behaviour or interval set the
    /// options name that it lacks): listed, but the data itself is sound.
    public var settingsProblems: [String] = []
    /// One line, `file: ... 'field' ...`, when the file cannot be used.
    public var error: String?
    /// The HDF5 path named by `error`.
    public var errorField: String?

    public var ok: Bool { error == nil }
}

/// The report for several files.
public struct InspectReport: Codable, Sendable, Equatable {
    public var files: [FileInspection]
    public var ok: Bool { files.allSatisfy(\.ok) }

    /// Sorted keys, no escaped slashes: stable output for tests and diffs.
    public func json() throws -> String {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try e.encode(self), as: UTF8.self)
    }

    public var text: String { files.map(\.text).joined(separator: "\n") }
}

/// Builds `poyo inspect` reports. Reading goes through `RecordingReader` (isolated, as training).
public enum Inspector {
    public static func inspect(_ paths: [String], options: ReaderOptions = ReaderOptions()) -> InspectReport {
        InspectReport(files: paths.map { inspect(path: $0, options: options) })
    }

    /// The facts of the file are always reported when its data is sound: a read that fails only
    /// because of the settings (a preset, behaviour or interval set the file cannot take) is
    /// repeated with the file's own settings, and its error listed under `settingsProblems`.
    public static func inspect(path: String, options: ReaderOptions = ReaderOptions()) -> FileInspection {
        var out = FileInspection(
            path: path, format: nil, summary: nil, spikeRate: nil, warnings: [], error: nil, errorField: nil)
        var detected: RecordingFormat?
        do {
            out.record(try RecordingReader.load(URL(fileURLWithPath: path), options: options, detected: &detected))
        } catch let e as DataError {
            let relaxed = options.withFileOwnSettings
            if let facts = try? RecordingReader.load(URL(fileURLWithPath: path), options: relaxed, detected: &detected)
            {
                out.record(facts)
                out.settingsProblems.insert(e.description, at: 0)
            } else {
                out.error = e.description
                out.errorField = e.field
            }
        } catch {
            out.error = "\(path): \(error)"
        }
        out.format = detected ?? out.summary?.format
        return out
    }

    static func rates(_ s: RecordingSummary) -> SpikeRateSummary? {
        guard !s.unitSpikeCounts.isEmpty, s.duration > 0 else { return nil }
        let r = s.unitSpikeCounts.map { Double($0) / s.duration }.sorted()
        let median = r.count % 2 == 1 ? r[r.count / 2] : (r[r.count / 2 - 1] + r[r.count / 2]) / 2
        return SpikeRateSummary(
            meanHz: r.reduce(0, +) / Double(r.count), medianHz: median, minHz: r.first!,
            maxHz: r.last!, silentUnits: s.unitSpikeCounts.filter { $0 == 0 }.count)
    }
}

extension FileInspection {
    mutating func record(_ loaded: LoadedRecording) {
        summary = loaded.summary
        warnings = loaded.warnings.map(\.description)
        spikeRate = Inspector.rates(loaded.summary)
        settingsProblems = loaded.summary.settingsNote.map { ["\(loaded.file.path): settings: \($0)"] } ?? []
    }

    /// The human-readable block `poyo inspect` prints.
    public var text: String {
        var lines = [path]
        func row(_ k: String, _ v: String) {
            lines.append("  " + k.padding(toLength: 12, withPad: " ", startingAt: 0) + v)
        }
        row("format", format?.rawValue ?? "unknown")
        if let s = summary {
            row("session", "\(s.sessionID) (subject \(s.subjectID))")
            row("units", "\(s.units)")
            row("spikes", "\(s.spikes)")
            let domain = s.domain.map { String(format: "[%.3f, %.3f)", $0[0], $0[1]) }.joined(separator: " ∪ ")
            row("duration", String(format: "%.3f s, domain %@", s.duration, domain))
            if let r = spikeRate {
                row(
                    "spike rate",
                    String(
                        format: "mean %.2f Hz, median %.2f Hz, min %.2f Hz, max %.2f Hz, %ld silent unit(s)",
                        r.meanHz, r.medianHz, r.minHz, r.maxHz, r.silentUnits))
            }
            for (i, b) in s.behaviour.enumerated() {
                let cols = b.columns.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
                let rate = b.rateHz.map { String(format: "%.1f Hz", $0) } ?? "? Hz"
                row(i == 0 ? "behaviour" : "", "\(b.name): \(b.kind), \(rate), \(cols)")
            }
            let norm =
                "normalised (v − \(s.normalizationMean.map { fmt($0) }.joined(separator: ","))) / "
                + "\(s.normalizationStd.map { fmt($0) }.joined(separator: ",")) [\(s.normalizationSource)]"
            row("target", "\(s.target); \(norm); \(s.nonFiniteSamples) non-finite sample(s)")
            if let preset = s.preset { row("preset", preset) }
            row(
                "trials",
                "\(s.trials)"
                    + (s.trialColumns.isEmpty ? "" : " (columns: \(s.trialColumns.sorted().joined(separator: ", ")))"))
            row("splits", s.splitRule)
            for (name, sp) in [("train", s.train), ("valid", s.valid), ("test", s.test)] {
                var line = String(format: "%@ %ld interval(s), %.2f s", name, sp.intervals, sp.seconds)
                if sp.short > 0 { line += " (\(sp.short) shorter than 1 s: windows around them)" }
                if sp.skipped > 0 {
                    line += String(
                        format: "; %ld cannot be used (%.2f s: no 1 s window fits)", sp.skipped, sp.skippedSeconds)
                }
                row("", line)
            }
            row("eval mask", s.evalIntervals)
            if !s.lossWeights.isEmpty {
                row(
                    "weights",
                    s.lossWeights.sorted { $0.key < $1.key }.map { "\($0.key) \(fmt($0.value))" }.joined(
                        separator: ", "))
            }
            row("spike reads", s.spikeLookup)
        }
        if let error {
            lines.append("  error: \(error)")
        } else if warnings.isEmpty && settingsProblems.isEmpty {
            row("problems", "none")
        } else {
            row("problems", "")
        }
        for p in settingsProblems + warnings { lines.append("    \(p)") }
        return lines.joined(separator: "\n")
    }
}

private func fmt(_ x: Float) -> String {
    x == x.rounded() && abs(x) < 1e6 ? String(Int(x)) : String(format: "%.4g", Double(x))
}
