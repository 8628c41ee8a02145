import Foundation
import TestSupport
import Testing

@testable import POYOData

/// Presets carry torch_brain's dataset-class constants (issue 11, point 2). The expected values are
/// written out by hand from neuro-galaxy/torch_brain @ 0512ee0, each with the file it comes from,
/// so a wrong entry in `DatasetPreset` fails here.
@Suite struct DatasetPresetTests {
    struct Expected: Sendable, CustomTestStringConvertible {
        var preset: DatasetPreset
        var behaviour: String
        var nwbBehaviour: String?
        var std: Float
        var weights: [String: Float]
        var eval: String?
        var testDescription: String { preset.rawValue }
    }

    static let torchBrain: [Expected] = [
        // examples/poyo/datasets/poyo_mp.py, PoyoMPDataset.get_recording_hook, session id ending
        // "center_out_reaching": cursor.vel, std 20, six weights, eval movement_phases.reach_period.
        Expected(
            preset: .perichCO, behaviour: "cursor.vel", std: 20,
            weights: [
                "movement_phases.random_period": 1.0, "movement_phases.hold_period": 0.1,
                "movement_phases.reach_period": 5.0, "movement_phases.return_period": 1.0,
                "movement_phases.invalid": 0.1, "cursor_outlier_segments": 0.0,
            ], eval: "movement_phases.reach_period"),
        // examples/poyo/datasets/poyo_mp.py, the "random_target_reaching" branch.
        Expected(
            preset: .perichRT, behaviour: "cursor.vel", std: 20,
            weights: [
                "movement_phases.random_period": 1.0, "movement_phases.hold_period": 0.1,
                "cursor_outlier_segments": 0.0,
            ], eval: "movement_phases.random_period"),
        // examples/poyo/datasets/poyo_1.py, PoyoChurchlandDataset: std 800, outlier weight 1.0, no eval_interval.
        Expected(
            preset: .churchland, behaviour: "cursor.vel", std: 800,
            weights: [
                "movement_phases.hold_period": 0.1, "movement_phases.reach_period": 5.0,
                "movement_phases.return_period": 1.0, "cursor_outlier_segments": 1.0,
            ], eval: nil),
        // examples/poyo/datasets/poyo_1.py, PoyoOdohertyDataset: std 200, no weights, no eval_interval.
        Expected(preset: .odoherty, behaviour: "cursor.vel", std: 200, weights: [:], eval: nil),
        // examples/poyo/datasets/nlb.py, PoyoNLBDataset: hand.vel, std 100, eval nlb_eval_intervals
        // (the NWB file's hand_vel series is the same signal).
        Expected(
            preset: .nlbMaze, behaviour: "hand.vel", nwbBehaviour: "hand_vel", std: 100, weights: [:],
            eval: "nlb_eval_intervals"),
        // No torch_brain class for MC_RTT: NLB's target finger_vel (nlb_tools), with the scale of
        // examples/poyo/datasets/poyo_1.py PoyoOdohertyDataset (200; same monkey, task and sensor).
        Expected(
            preset: .nlbRTT, behaviour: "finger.vel", nwbBehaviour: "finger_vel", std: 200, weights: [:], eval: nil),
    ]

    @Test(arguments: torchBrain)
    func presetResolvesToTorchBrainsConstants(_ e: Expected) throws {
        var o = ReaderOptions()
        o.preset = .preset(e.preset)
        for nwb in [false, true] {
            let resolved = try o.resolvingSettings(
                sessionID: "s", infer: { (nil, "never asked") }, nwb: nwb, file: "f",
                facts: PresetFileFacts(hasBehaviour: { _ in true }, hasIntervals: { _ in true }))
            let (r, note, name) = (resolved.options, resolved.note, resolved.preset)
            #expect(r.behaviour == (nwb ? e.nwbBehaviour ?? e.behaviour : e.behaviour))
            #expect(r.normalizationMean == [0] && r.normalizationStd == [e.std])
            #expect(r.intervalWeights == e.weights)
            #expect(r.evalIntervals == e.eval ?? "all")
            #expect(name == e.preset.rawValue && note == "\(e.preset.rawValue) (from the config)")
        }
    }

    @Test func aPerichCenterOutFileIsReadAsTorchBrainReadsIt() throws {
        // Session c_20131003_center_out_reaching: inferred perich_co. The fixture has no
        // random_period or invalid sets, so those weights drop out (torch_brain's file has them).
        let l = try RecordingReader.load(Fixtures.url("perich_c_center_out.h5"))
        #expect(l.summary.preset?.hasPrefix("perich_co (session 'c_20131003_center_out_reaching')") == true)
        let s = try #require(l.summary.settings)
        #expect(s.preset == "perich_co" && s.behaviour == "cursor")
        #expect(s.normalizeMean == [0, 0] && s.normalizeStd == [20, 20])
        #expect(
            s.weights == [
                "movement_phases/hold_period": 0.1, "movement_phases/reach_period": 5.0,
                "movement_phases/return_period": 1.0, "cursor_outlier_segments": 0.0,
            ])
        #expect(s.evalInterval == "movement_phases/reach_period")
        #expect(l.warnings.isEmpty)
        #expect(l.recording.normalizationStd == [20, 20])
    }

    @Test func churchlandAndOdohertyScoreEverySample() throws {
        for (preset, std, outlier) in [(DatasetPreset.churchland, Float(800), Float?(1)), (.odoherty, 200, nil)] {
            var o = ReaderOptions()
            o.preset = .preset(preset)
            let l = try RecordingReader.load(Fixtures.url("perich_c_center_out.h5"), options: o)
            let s = try #require(l.summary.settings)
            #expect(s.normalizeStd == [std, std] && s.evalInterval == "all" && l.recording.evalIntervals == nil)
            #expect(s.weights["cursor_outlier_segments"] == outlier)
        }
    }

    @Test func nlbFilesInferTheirPresets() throws {
        let maze = try RecordingReader.load(Fixtures.url("nlb_maze_hand_regular.h5"))
        #expect(maze.summary.settings?.preset == "nlb_maze" && maze.summary.settings?.normalizeStd == [100, 100])
        #expect(
            maze.summary.settings?.behaviour == "hand" && maze.summary.settings?.evalInterval == "nlb_eval_intervals")
        let nwb = try RecordingReader.load(Fixtures.url("nlb_maze_jenkins.nwb"))
        #expect(nwb.summary.settings?.preset == "nlb_maze" && nwb.summary.settings?.normalizeStd == [100, 100])
        #expect(nwb.summary.settings?.evalInterval == "nlb_eval_intervals")
        let rtt = try RecordingReader.load(Fixtures.url("nlb_rtt_indy.nwb"))
        #expect(rtt.summary.settings?.preset == "nlb_rtt" && rtt.summary.settings?.normalizeStd == [200, 200])
        #expect(rtt.summary.settings?.behaviour.hasSuffix("finger_vel") == true)
        #expect(rtt.summary.settings?.evalInterval == "all")
    }

    @Test func explicitSettingsAndAutoStatisticsBeatThePreset() throws {
        var o = ReaderOptions()
        o.normalizationStd = [5]
        let given = try RecordingReader.load(Fixtures.url("perich_c_center_out.h5"), options: o)
        #expect(given.summary.settings?.normalizeStd == [5, 5] && given.summary.settings?.preset == "perich_co")
        o = ReaderOptions()
        o.normalizeFromData = true
        let auto = try RecordingReader.load(Fixtures.url("perich_c_center_out.h5"), options: o)
        #expect(auto.summary.normalizationSource == "auto")
        #expect(auto.summary.settings?.normalizeStd != [20, 20])
        o = ReaderOptions()
        o.preset = PresetChoice.none
        let none = try RecordingReader.load(Fixtures.url("perich_c_center_out.h5"), options: o)
        #expect(none.summary.preset == "none (preset: none)" && none.summary.settings?.preset == nil)
        #expect(none.summary.normalizationSource == "auto")
    }

    @Test func synthesisedSessionsMatchNoPreset() throws {
        let dir = try makeTempDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = SyntheticDataset.generate(sessions: 1, heldOut: 0, seed: 3, config: smallSyntheticConfig(trials: 6))[0]
        let url = dir.appendingPathComponent("s.h5")
        try BrainsetsWriter.write(r, to: url)
        let l = try RecordingReader.load(url)
        #expect(l.summary.preset?.hasPrefix("none (no preset matches session '\(r.sessionID)')") == true)
        #expect(l.summary.settings?.preset == nil)
    }

    @Test func brainsetIdsChooseTheClassAsTorchBrainsFoldersDo() {
        func infer(_ b: String?, _ s: String) -> DatasetPreset? {
            DatasetPreset.infer(brainset: b, sessionID: s, hasNLBEvalIntervals: false, hasHand: false).0
        }
        #expect(infer("perich_miller_population_2018", "m_20140114_random_target_reaching") == .perichRT)
        #expect(infer("perich_miller_population_2018", "m_20140114") == nil)
        #expect(infer("churchland_shenoy_neural_2012", "jenkins_20090912_maze") == .churchland)
        #expect(infer("odoherty_sabes_nonhuman_2017", "indy_20160407_02") == .odoherty)
        #expect(infer("pei_pandarinath_nlb_2021", "jenkins_maze_train") == .nlbMaze)
        #expect(infer(nil, "c_20131003_center_out_reaching") == .perichCO)
        #expect(infer("some_other_2020", "x") == nil)
        #expect(PresetChoice(name: "perich_rt") == .preset(.perichRT) && PresetChoice(name: "perich") == nil)
    }

    /// What a checkpoint carries reads every fixture back exactly as before, whatever a preset says.
    @Test(arguments: ["perich_c_center_out.h5", "nlb_maze_hand_regular.h5", "nlb_maze_jenkins.nwb", "nlb_rtt_indy.nwb"])
    func carriedSettingsReproduceTheRead(_ name: String) throws {
        var o = ReaderOptions()
        o.normalizeFromData = true  // settings no preset would give
        let first = try RecordingReader.load(Fixtures.url(name), options: o)
        var again = ReaderOptions()
        again.knownSettings = [first.recording.sessionID: try #require(first.summary.settings)]
        let second = try RecordingReader.load(Fixtures.url(name), options: again)
        #expect(second.summary.preset?.hasPrefix("the checkpoint's settings") == true)
        #expect(second.summary.settings == first.summary.settings)
        #expect(try second.recording.materialized() == first.recording.materialized())
    }
}
