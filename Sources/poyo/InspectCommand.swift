import ArgumentParser
import Foundation
import POYOData

/// `poyo inspect FILE...`: what a recording holds and what is wrong with it, before training on it.
struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Describe recording files (NWB or brainsets HDF5): format, session, units, spikes, duration, "
            + "spike rates, behaviour, trials, splits and any problems.",
        discussion:
            "Exits with status 1 when any file cannot be used; its error names the file and the HDF5 path at fault.")

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
    var format: String?

    func validate() throws {
        guard !files.isEmpty else { throw ValidationError("give at least one file") }
        if let format, RecordingFormat(rawValue: format) == nil {
            throw ValidationError("--format must be nwb or brainsets")
        }
    }

    func run() throws {
        var options = ReaderOptions()
        options.behaviour = behaviour
        options.format = format.flatMap(RecordingFormat.init(rawValue:))
        let report = Inspector.inspect(files, options: options)
        print(json ? try report.json() : report.text)
        for f in report.files { if let e = f.error { note("error: \(e)") } }
        if !report.ok { throw ExitCode(1) }
    }
}
