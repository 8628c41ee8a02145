import Foundation
import TestSupport
import Testing

@testable import POYOData

/// Presets degrade, never block (issue 19): a preset inferred from a name applies only when the file
/// has what it needs; a preset named in the config that the file cannot take is an error naming the
/// set; data defects are found before any settings step; `poyo inspect` reports a sound file's
/// facts whatever its settings.
@Suite struct PresetFallbackTests {
    /// A temporaldata export (no `movement_phases`) under a Perich centre-out session id.
    static let export = "temporaldata_no_phases.h5"

    @Test func anInferredPresetTheFileCannotTakeIsNotApplied() throws {
        let loaded = try RecordingReader.load(Fixtures.url(Self.export))
        let s = loaded.summary
        #expect(s.sessionID.hasSuffix("_center_out_reaching"))
        #expect(s.settings?.preset == nil)
        #expect(s.evalIntervals == "all samples")
        #expect(loaded.recording.evalIntervals == nil)
        #expect(loaded.recording.lossWeights.isEmpty)
        #expect(s.normalizationSource == "auto")
        let note = try #require(s.settingsNote)
        #expect(
            note.contains("preset perich_co considered") && note.contains("'movement_phases/reach_period'"), "\(note)")
        #expect(s.preset?.contains("perich_co considered, not applied") == true, "\(s.preset ?? "")")
        #expect(loaded.warnings.isEmpty, "\(loaded.warnings)")
    }

    @Test func theSameNameWithTheSetsItNeedsStillGetsThePreset() throws {
        let s = try RecordingReader.load(Fixtures.url("perich_c_center_out.h5")).summary
        #expect(s.settings?.preset == "perich_co")
        #expect(s.settingsNote == nil)
        #expect(s.evalIntervals == "movement_phases/reach_period")
    }

    @Test func aPresetNamedInTheConfigMustFitTheFile() throws {
        var o = ReaderOptions()
        o.preset = .preset(.perichCO)
        #expect {
            try RecordingReader.load(Fixtures.url(Self.export), options: o)
        } throws: { e in
            guard case DataError.invalid(_, let field, let reason) = e else { return false }
            return field == "movement_phases/reach_period" && reason.contains("the named preset perich_co needs it")
        }
        // What the config gives itself is not asked of the file.
        o.evalIntervals = "all"
        let s = try RecordingReader.load(Fixtures.url(Self.export), options: o).summary
        #expect(s.settings?.preset == "perich_co" && s.normalizationStd == [20, 20])
    }

    @Test func inspectPrintsTheFactsAndListsSettingsProblems() throws {
        let path = Fixtures.url(Self.export).path
        let plain = Inspector.inspect(path: path)
        #expect(plain.ok && plain.summary?.units == 16 && plain.summary?.trials == 24)
        #expect(plain.settingsProblems.count == 1 && plain.settingsProblems[0].contains("not applied"))
        #expect(plain.text.contains("problems") && plain.text.contains("perich_co considered"))

        var o = ReaderOptions()
        o.preset = .preset(.perichCO)
        let named = Inspector.inspect(path: path, options: o)
        #expect(named.ok, "\(named.error ?? "")")
        #expect(named.summary?.spikes == plain.summary?.spikes)
        #expect(named.summary?.behaviour.map(\.name) == ["cursor", "hand"])
        #expect(named.settingsProblems.first?.contains("'movement_phases/reach_period'") == true)
        #expect(named.text.contains("session     t_20130819_center_out_reaching"))
    }

    @Test func unsortedSpikesAreReportedNotThePresetItCannotTake() throws {
        let path = Fixtures.url("bad_unsorted_no_phases.h5").path
        let r = Inspector.inspect(path: path)
        #expect(r.ok)
        #expect(r.warnings.count == 1 && r.warnings[0].contains("'spikes/timestamps': not sorted"), "\(r.warnings)")
        let rec = try RecordingReader.read(Fixtures.url("bad_unsorted_no_phases.h5"))
        #expect(rec.spikeTimes == rec.spikeTimes.sorted())
    }

    @Test func aDataDefectIsNamedBeforeAnySettingsStep() throws {
        // Integer spike times and a behaviour the file does not have: the data defect wins.
        var o = ReaderOptions()
        o.behaviour = "no_such_group.vel"
        let r = Inspector.inspect(path: Fixtures.url("bad_spikes_dtype.h5").path, options: o)
        #expect(r.errorField == "spikes/timestamps", "\(r.error ?? "")")
        #expect(!r.ok)
    }
}
