import Foundation
import TestSupport

/// Runs the built `poyo` binary as a user would and captures what it prints.
struct CLIResult {
    let status: Int32
    let stdout: String
    let stderr: String
    /// True when the process was ended by a signal (`status` is then the signal number).
    var signaled = false
}

/// A started `poyo` process whose output is collected in the background.
final class RunningCLI: @unchecked Sendable {
    let process = Process()
    private let group = DispatchGroup()
    private var out = Data()
    private var err = Data()

    init(_ args: [String], environment extra: [String: String], input: Data? = nil) throws {
        process.executableURL = CLI.binary
        process.arguments = args
        var env = ProcessInfo.processInfo.environment
        for (k, v) in extra { env[k] = v }
        process.environment = env
        let outPipe = Pipe()
        let errPipe = Pipe()
        process.standardOutput = outPipe
        process.standardError = errPipe
        let inPipe = input.map { _ in Pipe() }
        if let inPipe { process.standardInput = inPipe }
        try process.run()
        if let inPipe, let input {
            DispatchQueue.global().async {
                inPipe.fileHandleForWriting.write(input)
                try? inPipe.fileHandleForWriting.close()
            }
        }
        // Read both pipes while it runs so a chatty child never blocks on a full pipe.
        group.enter()
        DispatchQueue.global().async {
            self.out = outPipe.fileHandleForReading.readDataToEndOfFile()
            self.group.leave()
        }
        group.enter()
        DispatchQueue.global().async {
            self.err = errPipe.fileHandleForReading.readDataToEndOfFile()
            self.group.leave()
        }
    }

    func signal(_ sig: Int32) { kill(process.processIdentifier, sig) }

    func wait() -> CLIResult {
        group.wait()
        process.waitUntilExit()
        return CLIResult(
            status: process.terminationStatus, stdout: String(decoding: out, as: UTF8.self),
            stderr: String(decoding: err, as: UTF8.self),
            signaled: process.terminationReason == .uncaughtSignal)
    }
}

enum CLI {
    /// The `poyo` executable beside the test bundle (same build configuration), else in .build.
    static var binary: URL {
        let candidates = [
            Bundle.main.executableURL?.deletingLastPathComponent().appendingPathComponent("poyo"),
            Bundle.main.bundleURL.appendingPathComponent("poyo"),
            Bundle.main.bundleURL.deletingLastPathComponent().appendingPathComponent("poyo"),
            packageRoot().appendingPathComponent(".build/debug/poyo"),
        ].compactMap { $0 }
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) } ?? candidates.last!
    }

    static func run(_ args: [String], environment extra: [String: String] = [:], input: Data? = nil) throws
        -> CLIResult
    {
        try RunningCLI(args, environment: extra, input: input).wait()
    }

    static func start(_ args: [String], environment extra: [String: String] = [:]) throws -> RunningCLI {
        try RunningCLI(args, environment: extra)
    }
}

/// A tiny model config so CLI runs take seconds in debug builds.
let tinyConfigYAML = """
    model:
      dim: 32
      depth: 1
      cross_heads: 1
      self_heads: 2
      num_latents_per_step: 4
    batch_size: 4
    eval_every: 0
    eval_batch_size: 16
    optim:
      lr: 0.003
    """
