import ArgumentParser
import Compute
import DataParallel
import Foundation
import POYO

/// Drives a `TrainingSession` for `poyo train`: prints the run's settings and progress, turns SIGINT
/// and SIGTERM into a graceful stop, prints the results, and maps a stop to exit 130 / 143.
enum TrainingCLI {
    /// `baseline`: also fit the Wiener filter on the same recordings (the same few-shot subset) and
    /// print its validation R² beside the model's.
    static func drive(_ session: TrainingSession, baseline: Bool = false) throws {
        note("config (saved as \(session.folder.configPath)):")
        note(session.config.yaml().split(separator: "\n").dropFirst().map { "  " + $0 }.joined(separator: "\n"))
        note("model: \(session.model.params.count) parameters on \(session.device.name); seed \(session.options.seed)")
        let env = ProcessInfo.processInfo.environment
        let rank = session.stepper.collective?.rank ?? 0
        if let kill = env["POYO_FAULT_KILL_AT_STEP"].flatMap(Int.init),
            env["POYO_FAULT_KILL_RANK"].flatMap(Int.init).map({ $0 == rank }) ?? true
        {
            // Test hook: SIGKILL ourselves in the middle of step `kill` (after backward, before the
            // update); in a job, only rank POYO_FAULT_KILL_RANK when it is set.
            session.stepper.midStep = { index in if index + 1 == kill { Foundation.kill(getpid(), SIGKILL) } }
        }
        let progress = Console.quiet ? nil : ProgressPrinter(totalSteps: session.options.steps)
        let stop = GracefulStop()
        let outcome = try session.run(observer: progress, shouldStop: { stop.agreed(session.stepper.collective) })
        guard let printer = progress else {
            // A quiet rank of a job: rank 0 reports.
            if case .stopped = outcome { throw ExitCode(128 + (stop.requested ?? SIGINT)) }
            return
        }
        let dir = session.folder.url.path
        switch outcome {
        case .stopped(let step):
            let signal = stop.requested ?? SIGINT
            printer.message(
                "stopped by \(signal == SIGTERM ? "SIGTERM" : "SIGINT") after step \(step) of "
                    + "\(session.options.steps); saved. Resume with: poyo train --resume \(dir)")
            throw ExitCode(128 + signal)
        case .finished(nil):
            print("the run in \(dir) is already complete (\(session.options.steps) steps); nothing to do")
        case .finished(let v?):
            let wiener = baseline ? try session.wienerBaseline(note: note) : nil
            let title =
                wiener == nil
                ? "validation R² per session:"
                : "validation R² per session (POYO, Wiener filter on the same training data):"
            let full = URL(fileURLWithPath: dir).appendingPathComponent("summary.json").path
            for line in r2Table(title: title, r2: v.r2, wiener: wiener?.r2, fullTable: full) { print(line) }
            var line = String(format: "mean R² %.4f after %ld steps", v.mean, session.options.steps)
            if let best = session.best, best.step != session.options.steps {
                line += String(format: " (best %.4f at step %ld)", best.r2, best.step)
            }
            print(line + "; outputs in \(dir)")
            if let wiener {
                print(WienerOutput.title(wiener.options) + ":")
                for line in WienerOutput.choices(wiener) { print(line) }
            }
        }
    }
}

/// SIGINT / SIGTERM: the first asks the run to stop after its current step; a second ends the
/// process at once (exit 130 / 143).
final class GracefulStop: @unchecked Sendable {
    private let lock = NSLock()
    private var signal: Int32?
    private var sources: [DispatchSourceSignal] = []

    var requested: Int32? {
        lock.lock()
        defer { lock.unlock() }
        return signal
    }

    /// Whether to stop after this step. In a job every process must stop at the same step (or the
    /// others would wait for it in the next step's exchange), so they agree: any request stops all.
    func agreed(_ job: Collective?) -> Bool {
        guard let job, job.size > 1 else { return requested != nil }
        let said = (try? job.allGather([requested.map { UInt8(truncatingIfNeeded: $0) } ?? 0])) ?? []
        guard let signal = said.lazy.compactMap({ $0.first }).first(where: { $0 != 0 }) else { return false }
        lock.lock()
        if self.signal == nil { self.signal = Int32(signal) }
        lock.unlock()
        return true
    }

    init() {
        for sig in [SIGINT, SIGTERM] {
            Foundation.signal(sig, SIG_IGN)  // delivered to the dispatch source instead
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler { [weak self] in self?.received(sig) }
            source.resume()
            sources.append(source)
        }
    }

    private func received(_ sig: Int32) {
        lock.lock()
        let first = signal == nil
        if first { signal = sig }
        lock.unlock()
        if first {
            guard !Console.quiet else { return }
            let name = sig == SIGTERM ? "SIGTERM" : "SIGINT"
            let text = "\n\(name): finishing the current step and saving (signal again to stop at once)\n"
            FileHandle.standardError.write(Data(text.utf8))
        } else {
            _exit(128 + sig)
        }
    }
}
