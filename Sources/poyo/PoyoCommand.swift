import ArgumentParser
import Foundation
import POYOData

@main
struct Poyo: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "poyo",
        abstract: "Train, evaluate and inspect POYO neural population decoders.",
        discussion: "Run `poyo train` with no arguments to train the 1.3M model on the built-in synthetic dataset.",
        subcommands: [
            Train.self, Finetune.self, Eval.self, Baseline.self, Stream.self, Synth.self, Inspect.self, Devices.self,
        ])

    /// `poyo __read-recording JOB` is the reader process `Isolation` starts for each untrusted
    /// file; it is not a user command, so it is handled before argument parsing.
    static func main() {
        let arguments = CommandLine.arguments
        if arguments.count > 1 && arguments[1] == Isolation.childCommand { Isolation.childMain(arguments) }
        main(nil)
    }
}

/// Runs a command body, turning errors into one line on stderr and a non-zero exit.
func runReportingErrors(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch let e as ExitCode {
        throw e
    } catch let e as ValidationError {
        throw e
    } catch {
        FileHandle.standardError.write(Data("error: \(error)\n".utf8))
        throw ExitCode(1)
    }
}

func note(_ s: String) {
    guard !Console.quiet else { return }
    FileHandle.standardError.write(Data((s + "\n").utf8))
}
