import Foundation

/// A training run's folder (`--out DIR`) and every file in it:
///
/// | file | what |
/// |---|---|
/// | `checkpoint.safetensors` | the latest model (torch_brain tensor names; config and vocabularies in metadata) |
/// | `best.safetensors` | the model at the best validation R² so far |
/// | `train_state.safetensors` | everything to resume exactly: weights, optimizer moments, step, sampler, RNG, best |
/// | `config.yaml` | the resolved run config (`poyo train --config` accepts it as is) |
/// | `metrics.csv` | one row per step: step, epoch, loss, lr, ms/step, tokens/s, validation R² |
/// | `summary.json` | the final figures |
///
/// Every file but `metrics.csv` is replaced atomically and durably (`AtomicFile`); `metrics.csv` is
/// appended to, and cut back to the saved step when a run resumes, so it holds each step once.
public final class RunFolder {
    public let url: URL
    private var metrics: FileHandle?
    static let metricsHeader = "step,epoch,train/loss,lr,ms_per_step,tokens_per_s,val/r2\n"

    public init(_ url: URL) throws {
        self.url = url
        do {
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        } catch {
            throw POYOError.checkpoint(
                path: url.path, reason: "cannot create the run folder (\(error.localizedDescription))")
        }
    }

    deinit { try? metrics?.close() }

    public func path(_ name: String) -> String { url.appendingPathComponent(name).path }
    public var checkpointPath: String { path("checkpoint.safetensors") }
    public var bestPath: String { path("best.safetensors") }
    public var statePath: String { path("train_state.safetensors") }
    public var configPath: String { path("config.yaml") }
    public var metricsPath: String { path("metrics.csv") }
    public var summaryPath: String { path("summary.json") }

    /// Whether the folder holds a resumable run.
    public var hasState: Bool { FileManager.default.fileExists(atPath: statePath) }

    /// Opens `metrics.csv` for appending: a fresh file with its header, or (resuming) the existing
    /// rows up to and including step `keepThrough` (rows of steps after the last saved state would
    /// otherwise appear twice).
    public func openMetrics(keepThrough: Int?) throws {
        var text = Self.metricsHeader
        if let keep = keepThrough, let old = try? String(contentsOfFile: metricsPath, encoding: .utf8) {
            for line in old.split(separator: "\n").dropFirst() {
                guard let step = Int(line.prefix { $0 != "," }), step <= keep else { continue }
                text += line + "\n"
            }
        }
        try AtomicFile.write(Data(text.utf8), to: metricsPath)
        guard let h = FileHandle(forWritingAtPath: metricsPath) else {
            throw POYOError.checkpoint(path: metricsPath, reason: "cannot open for appending")
        }
        h.seekToEndOfFile()
        metrics = h
    }

    /// One row. The loss is written with 9 significant digits: exactly the Float32 value, so two
    /// runs' loss columns compare bit for bit.
    public func log(_ r: StepReport, valR2: Double? = nil) {
        let v = valR2.map { String(format: "%.6f", $0) } ?? ""
        let line =
            String(
                format: "%d,%d,%.9g,%.6e,%.2f,%.0f,", r.step, r.epoch, r.loss, r.lr, r.msPerStep,
                r.tokensPerSecond) + v + "\n"
        metrics?.write(Data(line.utf8))
    }

    public func writeSummary(_ object: [String: Any]) throws {
        let data = try JSONSerialization.data(
            withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        try AtomicFile.write(data + Data("\n".utf8), to: summaryPath)
    }

    public func writeConfig(_ config: ConfigFile) throws {
        try AtomicFile.write(Data(config.yaml().utf8), to: configPath)
    }
}
