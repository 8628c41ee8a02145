import ArgumentParser
import Compute
import POYO
import POYOData

// Typed option values: ArgumentParser rejects anything else as a usage error (exit 64) and lists the
// accepted values in the help.

extension Split: ExpressibleByArgument {}
extension FinetuneMode: ExpressibleByArgument {}
extension WienerWeights: ExpressibleByArgument {}
extension RecordingFormat: ExpressibleByArgument {}

extension DeviceSelection: ExpressibleByArgument {
    public init?(argument: String) { try? self.init(parsing: argument) }
    public var defaultValueDescription: String { description }
}

/// Options every compute command takes.
struct DeviceOptions: ParsableArguments {
    @Option(help: "Compute device: auto, cpu, cuda, cuda:N, opencl or opencl:N.")
    var device: DeviceSelection = .auto

    /// The device; `auto`'s choice is announced on stderr. `localRank`: in a job, this process's
    /// rank on its machine (`auto` and `cuda` then take one GPU per process).
    func make(localRank: Int = 0) throws -> Device {
        let (device, choice) = try device.make(localRank: localRank)
        if let choice { note(choice) }
        return device
    }
}
