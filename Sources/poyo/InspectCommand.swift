import ArgumentParser
import Foundation
import POYOData

/// `poyo inspect FILE...`: what a recording holds and what is wrong with it, before training on it.
struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Describe recording files (NWB or brainsets HDF5): format, session, units, spikes, duration, "
            + "spike rates, behaviour, trials, splits and any problems.",
        discussion:
            "Exits with status 1 when any file cannot be used (a defect of the data: its error names the file and the "
            + "HDF5 path at fault). Settings that do not fit a file (a preset, behaviour or interval set it lacks) are "
            + "listed under problems with the file's facts, and exit 0.")

    @Argument(help: "Recording files (.nwb or brainsets .h5).") var files: [String] = []
    @Flag(help: "Print the report as JSON.") var json = false
    @Option(
        help:
            ArgumentHelp(
                "Behaviour to decode: an NWB series (hand_vel, finger_vel, cursor_vel) or a brainsets group.column "
                    + "(cursor.vel).")
    )
    var behaviour: String?
    @Option(name: .customLong("format"), help: "Read every file as nwb or brainsets instead of detecting the format.")
    var format: RecordingFormat?
    @Option(
        help: ArgumentHelp(
            "Settings preset: auto (inferred where the file has what it needs), none, or one of "
                + DatasetPreset.allCases.map(\.rawValue).joined(separator: ", ") + ".",
            discussion: "A preset the file cannot take is listed under problems; the file's facts are still printed."))
    var preset = "auto"

    func validate() throws {
        guard !files.isEmpty else { throw ValidationError("give at least one file") }
        guard PresetChoice(name: preset) != nil else {
            throw ValidationError("--preset must be one of \(PresetChoice.names.joined(separator: ", "))")
        }
    }

    func run() throws {
        var options = ReaderOptions()
        options.behaviour = behaviour
        options.format = format
        options.preset = PresetChoice(name: preset) ?? .infer
        let report = Inspector.inspect(files, options: options)
        print(json ? try report.json() : report.text)
        for f in report.files { if let e = f.error { note("error: \(e)") } }
        if !report.ok { throw ExitCode(1) }
    }
}
