import Foundation
import TestSupport

/// Runs the built `poyo` binary as a user would and captures what it prints.
struct CLIResult {
    let status: Int32
    let stdout: String
    let stderr: String
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

    static func run(_ args: [String], environment extra: [String: String] = [:]) throws -> CLIResult {
        let p = Process()
        p.executableURL = binary
        p.arguments = args
        var env = ProcessInfo.processInfo.environment
        for (k, v) in extra { env[k] = v }
        p.environment = env
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        // Read both pipes before waiting so a chatty child never blocks on a full pipe.
        final class Box: @unchecked Sendable { var data = Data() }
        let outBox = Box()
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async { outBox.data = out.fileHandleForReading.readDataToEndOfFile(); group.leave() }
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        p.waitUntilExit()
        return CLIResult(status: p.terminationStatus, stdout: String(decoding: outBox.data, as: UTF8.self),
                         stderr: String(decoding: errData, as: UTF8.self))
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
