import Foundation
import POYOData

/// What `poyo eval --predictions` and `--plot` write from an evaluation: the stitched predictions
/// per behaviour sample, and a picture of a few trials per session.
public enum PredictionOutputs {
    /// CSV, one row per stitched sample: `session,time,target_0..,prediction_0..,scored` (time in
    /// the recording's seconds; values in the normalised units the model decodes).
    public static func csv(_ result: EvaluationResult, recordings: [Recording]) -> String {
        let dim = recordings.first?.behaviourDim ?? 2
        let header =
            ["session", "time"] + (0..<dim).map { "target_\($0)" } + (0..<dim).map { "prediction_\($0)" } + ["scored"]
        var lines = [header.joined(separator: ",")]
        for r in recordings {
            for s in result.samples[r.sessionID] ?? [] {
                var fields = [r.sessionID, String(format: "%.6f", r.behaviourTimes[s.sample])]
                fields += s.target.map { String(format: "%.6g", $0) }
                fields += s.prediction.map { String(format: "%.6g", $0) }
                fields.append(s.scored ? "1" : "0")
                lines.append(fields.joined(separator: ","))
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// The stretches shown for a session: up to `count` trials inside the evaluated samples (the
    /// longest-covered first in time order), else consecutive 2 s spans.
    static func spans(_ r: Recording, samples: [StitchedSample], count: Int) -> [Interval] {
        guard let first = samples.first, let last = samples.last else { return [] }
        let times = Set(samples.map(\.sample))
        let covered = { (iv: Interval) -> Int in
            r.behaviourTimes.indices.filter { times.contains($0) && iv.contains(r.behaviourTimes[$0]) }.count
        }
        let trials = Array(r.trials.items.lazy.filter { covered($0) >= 20 }.prefix(count))
        if !trials.isEmpty { return trials }
        var out: [Interval] = []
        var t = r.behaviourTimes[first.sample]
        let end = r.behaviourTimes[last.sample]
        while out.count < count && t < end {
            out.append(Interval(t, min(t + 2, end)))
            t += 2
        }
        return out
    }

    /// SVG: one row per session (its R² in the title), one panel per trial, both output dims:
    /// true velocity solid, predicted dashed.
    public static func svg(_ result: EvaluationResult, recordings: [Recording], split: String, trials: Int = 3)
        -> String
    {
        let panelW = 300.0
        let panelH = 160.0
        let left = 50.0
        let top = 60.0
        let rowH = panelH + 50
        let width = left + Double(trials) * (panelW + 20) + 10
        let height = top + Double(recordings.count) * rowH + 10
        let colors = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728"]
        var svg = [
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" "
                + "viewBox=\"0 0 \(Int(width)) \(Int(height))\" font-family=\"sans-serif\">",
            "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>",
            "<text x=\"\(left)\" y=\"22\" font-size=\"16\" font-weight=\"bold\">POYO decoded velocity, \(split) "
                + "split (normalised units)</text>",
            "<text x=\"\(left)\" y=\"42\" font-size=\"12\">solid: true · dashed: predicted · "
                + "<tspan fill=\"\(colors[0])\">dim 0 (x)</tspan> · "
                + "<tspan fill=\"\(colors[1])\">dim 1 (y)</tspan></text>",
        ]
        for (row, r) in recordings.enumerated() {
            let samples = result.samples[r.sessionID] ?? []
            let y0 = top + Double(row) * rowH
            let r2 = result.r2[r.sessionID].map { String(format: "R² %.3f", $0) } ?? "no scored samples"
            svg.append(
                "<text x=\"\(left)\" y=\"\(y0 + 14)\" font-size=\"13\">\(escape(r.sessionID)) — \(r2)</text>")
            for (col, span) in spans(r, samples: samples, count: trials).enumerated() {
                let x0 = left + Double(col) * (panelW + 20)
                let panelTop = y0 + 22
                let inSpan = samples.filter { span.contains(r.behaviourTimes[$0.sample]) }
                let values = inSpan.flatMap { $0.target + $0.prediction }
                let lo = min(values.min() ?? -1, -0.1)
                let hi = max(values.max() ?? 1, 0.1)
                func px(_ t: Double) -> Double { x0 + (t - span.start) / max(span.length, 1e-9) * panelW }
                func py(_ v: Double) -> Double { panelTop + (hi - v) / (hi - lo) * panelH }
                svg.append(
                    "<rect x=\"\(x0)\" y=\"\(panelTop)\" width=\"\(panelW)\" height=\"\(panelH)\" fill=\"none\" "
                        + "stroke=\"#999\"/>")
                svg.append(
                    "<line x1=\"\(x0)\" y1=\"\(py(0))\" x2=\"\(x0 + panelW)\" y2=\"\(py(0))\" stroke=\"#ddd\"/>")
                svg.append(
                    String(
                        format: "<text x=\"%.1f\" y=\"%.1f\" font-size=\"10\" fill=\"#555\">%.1f–%.1f s</text>",
                        x0 + 4, panelTop + panelH + 12, span.start, span.end))
                for k in 0..<min(r.behaviourDim, colors.count) {
                    for predicted in [false, true] {
                        let points = inSpan.map { s -> String in
                            let v = predicted ? s.prediction[k] : s.target[k]
                            return String(format: "%.1f,%.1f", px(r.behaviourTimes[s.sample]), py(v))
                        }
                        guard points.count > 1 else { continue }
                        svg.append(
                            "<polyline fill=\"none\" stroke=\"\(colors[k])\" stroke-width=\"1.6\""
                                + (predicted ? " stroke-dasharray=\"5,3\"" : "") + " points=\""
                                + points.joined(separator: " ") + "\"/>")
                    }
                }
            }
        }
        svg.append("</svg>")
        return svg.joined(separator: "\n") + "\n"
    }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;")
    }
}
