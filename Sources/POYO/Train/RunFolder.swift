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
    /// Whether this process writes the folder: false in the other processes of a data-parallel
    /// job (rank 0 writes), whose writes here do nothing.
    public let writes: Bool
    private var metrics: FileHandle?
    static let metricsHeader = "step,epoch,train/loss,lr,ms_per_step,tokens_per_s,val/r2\n"

    /// Creates the folder if needed and takes its writer's lock (`RunFolderLock`): a second process
    /// that opens the same folder for writing fails at once, naming this one. `writes: false`
    /// (ranks other than 0 of a job) touches nothing: no folder made, no lock.
    public init(_ url: URL, writes: Bool = true) throws {
        self.url = url
        self.writes = writes
        guard writes else { return }
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), !isDirectory.boolValue {
            throw POYOError.checkpoint(path: url.path, reason: "is a file, not a run folder")
        }
        do {
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        } catch {
            throw POYOError.checkpoint(
                path: url.path, reason: "cannot create the run folder (\(error.localizedDescription))")
        }
        try RunFolderLock.acquire(url)
        removeStaleTemporaryFiles()
    }

    deinit {
        try? metrics?.close()
        if writes { RunFolderLock.release(url) }
    }

    /// `AtomicFile` writes `.<name>.tmp-<pid>` and renames it; a process killed in between leaves it.
    /// With the lock held no live writer owns one of another pid, so those whose process is gone go.
    func removeStaleTemporaryFiles() {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: url.path)) ?? []
        for name in names where name.hasPrefix(".") {
            guard let range = name.range(of: ".tmp-", options: .backwards), let pid = Int32(name[range.upperBound...])
            else { continue }
            let alive = pid == getpid() || kill(pid, 0) == 0 || errno == EPERM
            if !alive { unlink(path(name)) }
        }
    }

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
        guard writes else { return }
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
                format: "%ld,%ld,%.9g,%.6e,%.2f,%.0f,", r.step, r.epoch, r.loss, r.lr, r.msPerStep,
                r.tokensPerSecond) + v + "\n"
        metrics?.write(Data(line.utf8))
    }

    public func writeSummary(_ object: [String: Any]) throws {
        guard writes else { return }
        let data = try JSONSerialization.data(
            withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        try AtomicFile.write(data + Data("\n".utf8), to: summaryPath)
    }

    public func writeConfig(_ config: ConfigFile) throws {
        guard writes else { return }
        try AtomicFile.write(Data(config.yaml().utf8), to: configPath)
    }
}

/// The writer's lock of run folders: an exclusive `flock` on `<folder>/.lock`, which holds the
/// owner's pid, taken without waiting. The kernel drops it when the process ends, however it ends,
/// so a killed run never leaves its folder locked. Within one process the lock is counted (resuming
/// opens the folder twice); readers (`poyo eval`, `Checkpoint.load`) never take it.
enum RunFolderLock {
    private static let guardLock = NSLock()
    nonisolated(unsafe) private static var held: [String: (fd: Int32, count: Int)] = [:]

    static func acquire(_ url: URL) throws {
        let key = url.standardizedFileURL.path
        guardLock.lock()
        defer { guardLock.unlock() }
        if let h = held[key] {
            held[key] = (h.fd, h.count + 1)
            return
        }
        let lockPath = url.appendingPathComponent(".lock").path
        let fd = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw POYOError.checkpoint(
                path: lockPath, reason: "cannot open the run folder's lock (\(String(cString: strerror(errno))))")
        }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let busy = errno == EWOULDBLOCK
            let reason = String(cString: strerror(errno))
            var buffer = [UInt8](repeating: 0, count: 32)
            let n = pread(fd, &buffer, buffer.count, 0)
            close(fd)
            let owner =
                n > 0
                ? String(decoding: buffer[0..<n], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) : "?"
            throw POYOError.checkpoint(
                path: url.path,
                reason: busy
                    ? "run folder in use by pid \(owner) (another poyo train or finetune writes it); wait for it, "
                        + "or choose another --out"
                    : "cannot lock the run folder (\(reason))")
        }
        let text = [UInt8]("\(getpid())\n".utf8)
        _ = ftruncate(fd, 0)
        _ = pwrite(fd, text, text.count, 0)
        held[key] = (fd, 1)
    }

    static func release(_ url: URL) {
        let key = url.standardizedFileURL.path
        guardLock.lock()
        defer { guardLock.unlock() }
        guard let h = held[key] else { return }
        if h.count > 1 {
            held[key] = (h.fd, h.count - 1)
        } else {
            held[key] = nil
            close(h.fd)  // releases the flock
        }
    }
}
