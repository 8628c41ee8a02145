import Foundation

/// Writes a run's `metrics.csv` (one row per logged step, validation columns filled when run)
/// and `summary.json`.
public final class RunOutputs {
    public let directory: URL
    private let metrics: FileHandle

    public init(directory: URL) throws {
        self.directory = directory
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw POYOError.checkpoint(path: directory.path, reason: "cannot create the output folder (\(error.localizedDescription))")
        }
        let path = directory.appendingPathComponent("metrics.csv")
        guard FileManager.default.createFile(atPath: path.path, contents: Data("step,epoch,train/loss,lr,ms_per_step,tokens_per_s,val/r2\n".utf8)),
              let h = FileHandle(forWritingAtPath: path.path) else {
            throw POYOError.checkpoint(path: path.path, reason: "cannot write")
        }
        h.seekToEndOfFile()
        metrics = h
    }

    deinit { try? metrics.close() }

    public var checkpointPath: String { directory.appendingPathComponent("checkpoint.safetensors").path }

    public func log(_ r: StepReport, valR2: Double? = nil) {
        let v = valR2.map { String(format: "%.6f", $0) } ?? ""
        let line = String(format: "%d,%d,%.6f,%.6e,%.2f,%.0f,", r.step, r.epoch, r.loss, r.lr, r.msPerStep, r.tokensPerSecond) + v + "\n"
        metrics.write(Data(line.utf8))
    }

    public func writeSummary(_ object: [String: Any]) throws {
        let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        try AtomicFile.write(data + Data("\n".utf8), to: directory.appendingPathComponent("summary.json").path)
    }
}
