import Foundation
import POYO

/// Training progress: a redrawn bar on a terminal, plain step lines otherwise (logs, CI).
final class ProgressPrinter: TrainingObserver {
    let isTerminal = isatty(STDERR_FILENO) == 1
    let plainEvery: Int
    let start = Date()

    init(totalSteps: Int) {
        plainEvery = max(1, min(50, totalSteps / 20))
    }

    static func tokens(_ t: Double) -> String {
        t >= 1e6
            ? String(format: "%.1fM", t / 1e6) : t >= 1e3 ? String(format: "%.0fk", t / 1e3) : String(format: "%.0f", t)
    }

    static func duration(_ s: Double) -> String {
        let s = Int(s.rounded())
        return s >= 3600
            ? "\(s / 3600)h\(String(format: "%02d", s % 3600 / 60))m"
            : s >= 60 ? "\(s / 60)m\(String(format: "%02d", s % 60))s" : "\(s)s"
    }

    func line(_ r: StepReport) -> String {
        String(
            format: "step %ld/%ld | loss %.4f | lr %.1e | %.0f ms/step | %@ tok/s",
            r.step, r.totalSteps, r.loss, r.lr, r.msPerStep, Self.tokens(r.tokensPerSecond))
    }

    func report(_ r: StepReport) {
        if isTerminal {
            let frac = Double(r.step) / Double(r.totalSteps)
            let width = 24
            let filled = Int(frac * Double(width))
            let elapsed = Date().timeIntervalSince(start)
            let eta = frac > 0 ? elapsed * (1 - frac) / frac : 0
            let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
            FileHandle.standardError.write(Data("\r\u{1B}[K[\(bar)] \(line(r)) | ETA \(Self.duration(eta))".utf8))
            if r.step == r.totalSteps { FileHandle.standardError.write(Data("\n".utf8)) }
        } else if r.step == 1 || r.step % plainEvery == 0 || r.step == r.totalSteps {
            FileHandle.standardError.write(Data((line(r) + "\n").utf8))
        }
    }

    func stepped(_ r: StepReport) { report(r) }

    func validated(_ v: EvaluationResult, step: Int, isBest: Bool) {
        message(
            String(
                format: "validation at step %ld: R² %.4f over %ld sessions (%.1f s)%@", step, v.mean, v.r2.count,
                v.seconds, isBest ? ", best so far" : ""))
    }

    func note(_ text: String) { message(text) }

    /// A message that must not be overwritten by the bar.
    func message(_ s: String) {
        FileHandle.standardError.write(Data(((isTerminal ? "\r\u{1B}[K" : "") + s + "\n").utf8))
    }
}
