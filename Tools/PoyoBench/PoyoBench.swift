import ArgumentParser
import Compute
import Foundation
import POYO
import POYOData

/// Times POYO on a device: `kernels` times every op at the shapes of the 1.3M and 11.8M configs
/// (validated against the CPU backend first); `step` times full training steps; `golden` checks
/// the torch_brain golden fixtures on a device; `reduce` times the gradient exchange of
/// data-parallel training; `stream` times the streaming decoder's updates.
@main
struct PoyoBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "poyo-bench", abstract: "Time POYO training steps and kernels.",
        subcommands: [Kernels.self, Step.self, Golden.self, Reduce.self, StreamLatency.self])
}
