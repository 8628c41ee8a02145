import Foundation
import TestSupport
import Testing

@testable import POYOData

/// The committed fixtures (`Tools/fixtures/make_fixtures.py` wrote them and `manifest.json`).
enum Fixtures {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures")

    static func url(_ name: String) -> URL { directory.appendingPathComponent(name) }

    struct Expect: Decodable {
        var kind: String
        var field: String
        var message: String
    }
    struct Entry: Decodable {
        var format: String
        var units: Int?
        var spikes: Int?
        var trials: Int?
        var samples: Int?
        var duration: Double?
        var first_spike: Double?
        var last_spike: Double?
        var unit_counts: [Int]?
        var behaviour: [String: [Int]]?
        var split_column: [String: Int]?
        var splits: [String: Int]?
        var session: String?
        var nonfinite_samples: Int?
        var outside_domain: Int?
        var expect: Expect?
    }

    static let manifest: [String: Entry] = {
        guard let data = try? Data(contentsOf: url("manifest.json")),
            let m = try? JSONDecoder().decode([String: Entry].self, from: data)
        else { return [:] }
        return m
    }()
}

extension Fixtures {
    static var good: [String] { manifest.keys.filter { !$0.hasPrefix("bad_") }.sorted() }
    static var bad: [String] { manifest.keys.filter { $0.hasPrefix("bad_") }.sorted() }
}

/// `poyo inspect`'s facts about every fixture, checked against what the fixture script wrote.
@Suite struct FixtureTests {
    @Test func manifestIsThere() {
        #expect(Fixtures.good.count == 7)
        #expect(Fixtures.bad.count == 9)
    }

    @Test(arguments: Fixtures.good)
    func goodFixtureMatchesWhatWasWritten(_ name: String) throws {
        let m = try #require(Fixtures.manifest[name])
        let r = Inspector.inspect(path: Fixtures.url(name).path)
        #expect(r.error == nil)
        #expect(r.warnings.isEmpty)
        let s = try #require(r.summary)
        #expect(r.format?.rawValue == m.format)
        #expect(s.units == m.units)
        #expect(s.spikes == m.spikes)
        #expect(s.trials == m.trials)
        #expect(s.unitSpikeCounts == m.unit_counts)
        #expect(r.spikeRate?.silentUnits == 0)
        for (series, shape) in m.behaviour ?? [:] {
            if m.format == "nwb" {
                let b = s.behaviour.first { $0.name == "processing/behavior/\(series)" }
                #expect(b?.columns["data"] == shape, "\(series)")
                #expect(abs((b?.rateHz ?? 0) - 100) < 1e-6, "\(series) rate")
            } else {
                let parts = series.split(separator: ".").map(String.init)
                let b = s.behaviour.first { $0.name == parts[0] }
                #expect(b?.columns[parts[1]] == shape, "\(series)")
                #expect(abs((b?.rateHz ?? 0) - 100) < 1e-6, "\(series) rate")
            }
        }
        let rec = try RecordingReader.load(Fixtures.url(name)).recording
        #expect(rec.isLazy)
        #expect(rec.sampleCount == m.samples)
        let all = try rec.materialized()
        #expect(all.spikeTimes.first == m.first_spike && all.spikeTimes.last == m.last_spike)
        #expect(all.spikeTimes.count == m.spikes)
        if let split = m.split_column {
            // NLB: `train` trials split 80/20 into train/valid, `val` trials are the test set.
            #expect(s.train.intervals + s.valid.intervals == split["train"])
            #expect(s.valid.intervals == Int((Double(split["train"] ?? 0) * 0.2).rounded()))
            #expect(s.test.intervals == split["val"])
            #expect(s.evalIntervals.hasPrefix("nlb_eval_intervals"))
        }
        if m.format == "brainsets" {
            #expect(s.sessionID == m.session)
            #expect(s.valid.intervals == m.splits?["valid"] && s.test.intervals == m.splits?["test"])
            #expect(abs(s.duration - (m.duration ?? 0)) < 1e-9)
        } else {
            #expect(s.sessionID == Fixtures.url(name).deletingPathExtension().lastPathComponent)
            #expect(s.duration <= (m.duration ?? 0))
        }
    }

    @Test(arguments: Fixtures.bad)
    func badFixtureGivesTheDocumentedErrorOrWarning(_ name: String) throws {
        let m = try #require(Fixtures.manifest[name])
        let expect = try #require(m.expect)
        let path = Fixtures.url(name).path
        let r = Inspector.inspect(path: path)
        if expect.kind == "error" {
            let line = try #require(r.error)
            #expect(line.hasPrefix(path + ": "))
            #expect(line.contains("'\(expect.field)'"), "\(line)")
            #expect(line.contains(expect.message), "\(line)")
            #expect(r.errorField == expect.field)
        } else {
            #expect(r.error == nil)
            #expect(r.warnings.count == 1, "\(r.warnings)")
            let line = r.warnings.first ?? ""
            #expect(line.hasPrefix(path + ": warning: '\(expect.field)'"), "\(line)")
            #expect(line.contains(expect.message), "\(line)")
            #expect(r.summary?.spikes == m.spikes)
            #expect(r.summary?.units == m.units)
        }
        switch name {
        case "bad_nan_velocity.nwb": #expect(r.summary?.nonFiniteSamples == m.nonfinite_samples)
        case "bad_spikes_outside_domain.h5":
            #expect(r.warnings.first?.contains("\(m.outside_domain ?? -1) spike(s)") == true)
        case "bad_empty_unit.nwb": #expect(r.spikeRate?.silentUnits == 1 && r.summary?.unitSpikeCounts == m.unit_counts)
        case "bad_unsorted_spikes.h5", "bad_unsorted_spikes.nwb":
            let rec = try RecordingReader.read(Fixtures.url(name))
            #expect(!rec.isLazy && rec.spikeTimes == rec.spikeTimes.sorted() && rec.spikeCount == m.spikes)
        case "bad_truncated.h5": #expect(r.format == nil)
        default: #expect(r.format?.rawValue == m.format)
        }
    }

    /// Lazy window reads return exactly what an in-memory recording holds, for both formats and
    /// both lookups (the 1 s index and the binary search).
    @Test(arguments: Fixtures.good)
    func lazyWindowsMatchInMemory(_ name: String) throws {
        var eager = ReaderOptions()
        eager.lazySpikes = false
        var inProcess = ReaderOptions()
        inProcess.isolate = false
        let lazy = try RecordingReader.read(Fixtures.url(name))
        let memory = try RecordingReader.read(Fixtures.url(name), options: eager)
        let direct = try RecordingReader.read(Fixtures.url(name), options: inProcess)
        #expect(!memory.isLazy && memory.spikeCount == lazy.spikeCount)
        // Read through an isolated child, this process reads spike windows with pread (no
        // libhdf5); read in-process, through libhdf5 hyperslabs.
        let columns: [any NumericColumn] =
            switch lazy.spikeSource {
            case let s as SortedSpikeFile: [s.times, s.units]
            case let s as UnitSpikeFile: [s.times]
            default: []
            }
        #expect(!columns.isEmpty && columns.allSatisfy { $0 is RawColumn })
        #expect(direct.isLazy && direct.spikeSource?.identity == lazy.spikeSource?.identity)
        var rng = SeededRNG(seed: 5)
        let first = lazy.domain.items.first!.start
        let last = lazy.domain.items.last!.end
        var starts = (0..<40).map { _ in first - 1.5 + rng.uniform() * (last - first + 2) }
        starts += [first, first - 1, last - 1, last, memory.spikeTimes[memory.spikeCount / 2]]
        var keep = [Bool](repeating: true, count: lazy.unitCount)
        for u in stride(from: 0, to: keep.count, by: 3) { keep[u] = false }
        for s in starts {
            for k in [nil, keep] {
                let a = try lazy.windowSpikes(from: s, to: s + 1, keep: k)
                let b = try memory.windowSpikes(from: s, to: s + 1, keep: k)
                let c = try direct.windowSpikes(from: s, to: s + 1, keep: k)
                #expect(a.times == b.times && a.units == b.units, "window at \(s)")
                #expect(c.times == b.times && c.units == b.units, "in-process window at \(s)")
            }
        }
        if let sorted = lazy.spikeSource as? SortedSpikeFile, sorted.secondIndex != nil {
            let search = SortedSpikeFile(
                times: sorted.times, units: sorted.units, unitCount: sorted.unitCount, secondIndex: nil)
            #expect(search.lookup == "binary search")
            for s in starts {
                let a = try search.spikes(from: s, to: s + 1, keep: nil)
                let b = try memory.windowSpikes(from: s, to: s + 1)
                #expect(a.times == b.times && a.units == b.units, "binary search at \(s)")
            }
        }
        // Batches are the same too.
        let units = try Vocabulary(words: lazy.unitIDs)
        let sessions = try Vocabulary(words: [lazy.sessionID])
        let requests = starts.prefix(16).map { WindowRequest(recording: 0, start: $0) }
        let b1 = try Tokenizer(recordings: [lazy], unitVocabulary: units, sessionVocabulary: sessions).batch(requests)
        let b2 = try Tokenizer(recordings: [memory], unitVocabulary: units, sessionVocabulary: sessions).batch(requests)
        #expect(b1.inputUnitIndex == b2.inputUnitIndex && b1.inputTimestamps == b2.inputTimestamps)
        #expect(b1.inputOffsets == b2.inputOffsets && b1.targets == b2.targets)
    }

    /// The memory bound's mechanism: training reads about each window's own spikes, never a whole
    /// array. (The resident-memory measurement itself is in docs/data.md.)
    @Test(arguments: ["perich_c_center_out.h5", "nlb_maze_jenkins.nwb"])
    func trainingReadsOnlyWindowSizedSlices(_ name: String) throws {
        let r = try RecordingReader.read(Fixtures.url(name))
        let source = try #require(r.spikeSource)
        let tok = try Tokenizer(
            recordings: [r], unitVocabulary: try Vocabulary(words: r.unitIDs),
            sessionVocabulary: try Vocabulary(words: [r.sessionID]))
        let sampler = RandomFixedWindowSampler(intervals: [r.trainDomain])
        let windows = sampler.windows(seed: 1, epoch: 0)
        #expect(windows.count >= 10)
        let calls0 = source.readCalls
        let elements0 = source.elementsRead
        var spikes = 0
        var largest = 0
        var rng = SeededRNG(seed: 3)
        let dropout = UnitDropout(minUnits: 5, modeUnits: 10, maxUnits: 20)
        for w in windows {
            let before = source.elementsRead
            let b = try tok.batch(tok.requests(for: [w], dropout: dropout, rng: &rng))
            largest = max(largest, source.elementsRead - before)
            spikes += b.inputTokenType.filter { $0 == 0 }.count
        }
        let calls = source.readCalls - calls0
        let elements = source.elementsRead - elements0
        // At most two reads per window (one per column, or one OR-ed hyperslab per window for
        // NWB); the values read are those of the seconds around the window: a few times the
        // spikes tokenized (dropout removes some), and one window never reads more than 3 s of
        // a 40–60 s recording.
        #expect(calls <= 2 * windows.count, "\(calls) reads for \(windows.count) windows")
        #expect(elements <= 8 * max(spikes, 1), "\(elements) values read for \(spikes) spikes tokenized")
        let columns = source is SortedSpikeFile ? 2 : 1
        let threeSeconds = Double(r.spikeCount) * 3 / r.domain.totalLength
        #expect(
            Double(largest) <= Double(columns) * threeSeconds * 1.5,
            "one window read \(largest) values; 3 s hold about \(Int(threeSeconds)) spikes")
    }

    @Test func velocityIsDerivedFromPositionWhenAsked() throws {
        // nlb_rtt_indy has cursor_pos only (= finger_pos); cursor_vel must be derived.
        var o = ReaderOptions()
        o.behaviour = "cursor_vel"
        let loaded = try RecordingReader.load(Fixtures.url("nlb_rtt_indy.nwb"), options: o)
        #expect(loaded.summary.derivedFrom == "processing/behavior/cursor_pos")
        #expect(loaded.warnings.count == 1 && loaded.warnings[0].message.contains("derived"))
        o.behaviour = "finger_vel"
        let truth = try RecordingReader.read(Fixtures.url("nlb_rtt_indy.nwb"), options: o)
        // pos = cumsum(vel)/rate, so the central difference is the mean of two neighbouring velocities.
        let d = loaded.recording.behaviour
        let v = truth.behaviour
        var worst: Float = 0
        for i in 2..<(truth.sampleCount - 2) {
            for k in 0..<2 { worst = max(worst, abs(d[2 * i + k] - (v[2 * i + k] + v[2 * (i + 1) + k]) / 2)) }
        }
        #expect(worst < 1e-2)
    }

    @Test func missingSamplesAreMaskedFromLossAndMetrics() throws {
        let r = try RecordingReader.read(Fixtures.url("bad_nan_velocity.nwb"))
        let bad = (0..<r.sampleCount).filter { !r.behaviour[2 * $0].isFinite || !r.behaviour[2 * $0 + 1].isFinite }
        #expect(bad.count == Fixtures.manifest["bad_nan_velocity.nwb"]?.nonfinite_samples)
        let tok = try Tokenizer(
            recordings: [r], unitVocabulary: try Vocabulary(words: r.unitIDs),
            sessionVocabulary: try Vocabulary(words: [r.sessionID]))
        let start = r.behaviourTimes[bad[0]] - 0.2
        let b = try tok.batch([WindowRequest(recording: 0, start: start)], evalKeys: true)
        var seen = 0
        for (n, key) in b.evalKeys.enumerated() where bad.contains(Int(key.sample)) {
            seen += 1
            #expect(b.weights[n] == 0 && !key.scored && b.targets[2 * n] == 0 && b.targets[2 * n + 1] == 0)
        }
        #expect(seen > 10)
        #expect(b.targets.allSatisfy { $0.isFinite })
    }

    @Test func inspectReportRoundTripsThroughJSON() throws {
        let report = Inspector.inspect([
            Fixtures.url("nlb_maze_jenkins.nwb").path, Fixtures.url("bad_no_units.nwb").path,
        ])
        #expect(!report.ok)
        let back = try JSONDecoder().decode(InspectReport.self, from: Data(try report.json().utf8))
        #expect(back == report)
        #expect(report.text.contains("error: \(Fixtures.url("bad_no_units.nwb").path): missing 'units'"))
    }
}

/// A dataset config over both formats trains one model with shared vocabularies.
@Suite struct DatasetSpecTests {
    static let spec = DatasetSpec(
        recordings: [
            RecordingSpec(path: "nlb_maze_jenkins.nwb", behaviour: "hand_vel", normalizeStd: [100]),
            RecordingSpec(
                path: "nlb_maze_nitschke.nwb", format: .nwb, normalizeMean: [0], normalizeStd: [100],
                evalInterval: "nlb_eval_intervals"),
            RecordingSpec(
                path: "perich_c_center_out.h5", behaviour: "cursor.vel", normalizeStd: [20],
                weights: [
                    "movement_phases.reach_period": 5, "movement_phases.hold_period": 0.1,
                    "cursor_outlier_segments": 0,
                ],
                evalInterval: "movement_phases.reach_period"),
        ], baseDirectory: Fixtures.directory)

    @Test func loadsTwoNWBAndOneBrainsetsRecording() throws {
        let d = try DatasetSpecTests.spec.load()
        #expect(d.sessionIDs == ["nlb_maze_jenkins", "nlb_maze_nitschke", "c_20131003_center_out_reaching"])
        #expect(d.unitVocabulary.count == 1 + 30 + 22 + 24)
        #expect(d.sessionVocabulary.count == 4)
        #expect(d.warnings.isEmpty)
        #expect(d.recordings.allSatisfy { $0.isLazy })
        #expect(d.recordings.map(\.normalizationStd) == [[100, 100], [100, 100], [20, 20]])
        let perich = d.recordings[2]
        #expect(
            perich.lossWeights.map(\.name) == [
                "cursor_outlier_segments", "movement_phases/hold_period", "movement_phases/reach_period",
            ])
        #expect(d.recordings[0].unitIDs[0] == "nlb_maze_jenkins/group_M1/elec0/unit_0")
        // One tokenizer over all three; each recording's train split yields windows.
        let tok = try Tokenizer(
            recordings: d.recordings, unitVocabulary: d.unitVocabulary, sessionVocabulary: d.sessionVocabulary)
        let sampler = RandomFixedWindowSampler(intervals: d.recordings.map(\.trainDomain))
        let windows = sampler.windows(seed: 0, epoch: 0)
        #expect(Set(windows.map(\.recording)) == [0, 1, 2])
        let b = try tok.batch(Array(windows.prefix(12)).map { WindowRequest(recording: $0.recording, start: $0.start) })
        #expect(b.windowCount == 12 && b.inputCount > 12 * 40)
        // Validation windows exist for every session (per-session R² needs them).
        let eval = SequentialFixedWindowSampler(intervals: d.recordings.map(\.validDomain))
        #expect(Set(eval.windows.map(\.recording)) == [0, 1, 2])
    }

    @Test func aFolderEntryTakesEveryRecordingInIt() throws {
        let dir = try makeTempDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        for name in ["nlb_maze_jenkins.nwb", "nlb_maze_hand_regular.h5"] {
            try FileManager.default.copyItem(at: Fixtures.url(name), to: dir.appendingPathComponent(name))
        }
        let d = try DatasetSpec(recordings: [RecordingSpec(path: dir.path)]).load()
        #expect(d.sessionIDs == ["jenkins_maze_train", "nlb_maze_jenkins"])
        let missing = DatasetSpec(recordings: [RecordingSpec(path: "nope.nwb")], baseDirectory: dir)
        #expect(throws: DataError.fileNotFound(dir.appendingPathComponent("nope.nwb").path)) { try missing.load() }
    }

    @Test func splitRulesCanBeChosen() throws {
        var o = ReaderOptions()
        o.split = .time70_10_20
        let r = try RecordingReader.read(Fixtures.url("nlb_maze_jenkins.nwb"), options: o)
        let span = r.domain.totalLength
        #expect(abs(r.trainDomain.totalLength - 0.7 * span) < 1e-6)
        #expect(abs(r.validDomain.totalLength - 0.1 * span) < 1e-6 && abs(r.testDomain.totalLength - 0.2 * span) < 1e-6)
        o.split = .trials70_10_20
        let t = try RecordingReader.read(Fixtures.url("nlb_maze_jenkins.nwb"), options: o)
        #expect(t.validDomain.count == 3 && t.testDomain.count == 6)
        #expect(t.trainDomain.subtracting(t.validDomain.union(t.testDomain)).totalLength == t.trainDomain.totalLength)
        o.split = .splitColumn(validFraction: 0.2, seed: 42)
        #expect(throws: DataError.missing(file: Fixtures.url("nlb_rtt_indy.nwb").path, field: "intervals/trials/split"))
        {
            try RecordingReader.read(Fixtures.url("nlb_rtt_indy.nwb"), options: o)
        }
    }
}

/// `RawColumn`'s decoding of the numeric types HDF5 files use.
@Suite struct RawColumnTests {
    @Test func decodesEveryWidthSignAndByteOrder() {
        func layout(_ size: Int, _ kind: RawLayout.Kind, big: Bool = false) -> RawLayout {
            RawLayout(pieces: [], count: 1, elementSize: size, kind: kind, bigEndian: big)
        }
        func d(_ bytes: [UInt8], _ l: RawLayout) -> Double {
            bytes.withUnsafeBytes { Double.decode($0, at: 0, layout: l) }
        }
        func i(_ bytes: [UInt8], _ l: RawLayout) -> Int64 {
            bytes.withUnsafeBytes { Int64.decode($0, at: 0, layout: l) }
        }
        let f64 = withUnsafeBytes(of: 1.25.bitPattern.littleEndian) { Array($0) }
        #expect(d(f64, layout(8, .float)) == 1.25)
        #expect(d(f64.reversed(), layout(8, .float, big: true)) == 1.25)
        let f32 = withUnsafeBytes(of: Float(-2.5).bitPattern.bigEndian) { Array($0) }
        #expect(d(f32, layout(4, .float, big: true)) == -2.5)
        #expect(i([0xFE, 0xFF], layout(2, .signed)) == -2)
        #expect(i([0xFF, 0xFE], layout(2, .signed, big: true)) == -2)
        #expect(i([0xFE, 0xFF], layout(2, .unsigned)) == 65534)
        #expect(i([200], layout(1, .unsigned)) == 200 && i([200], layout(1, .signed)) == -56)
        #expect(i([0, 0, 0, 0, 0, 0, 0, 0x80], layout(8, .unsigned)) == Int64.min)  // out of range → rejected later
        #expect(d([0xFF, 0xFF, 0xFF, 0xFF], layout(4, .signed)) == -1)
    }
}
