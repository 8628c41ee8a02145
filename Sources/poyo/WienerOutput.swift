import Foundation
import POYO

/// How every command prints and serialises a Wiener baseline, so `poyo baseline`, `poyo eval
/// --baseline` and `poyo train/finetune --baseline` say the same things about it.
enum WienerOutput {
    /// E.g. `Wiener filter (causal, bin 0.02 s, loss weights)`.
    static func title(_ o: WienerBaseline.Options) -> String { "Wiener filter (\(o.description))" }

    /// Per session, how its filter was fitted and chosen: `  <session>  history …; fit on …; chosen on …`.
    static func choices(_ r: WienerBaseline.Result) -> [String] {
        r.sessions.sorted { $0.key < $1.key }.map { id, s in
            "  \(id)  " + WienerBaseline.describe(s, causal: r.options.causal)
        }
    }

    /// The figures and choices as JSON values.
    static func json(_ r: WienerBaseline.Result) -> [String: Any] {
        var sessions: [String: Any] = [:]
        for (id, s) in r.sessions {
            var entry: [String: Any] = [
                "history_s": s.historySeconds, "history_bins": s.choice.past, "ridge": s.choice.ridge, "fit": s.fit,
                "fit_samples": s.fitSamples, "selection": s.selection.description,
                "selection_samples": s.selectionSamples,
            ]
            if !r.options.causal {
                entry["horizon_s"] = s.horizonSeconds
                entry["horizon_bins"] = s.choice.future
            }
            if let v = s.selectionR2 { entry["selection_r2"] = v }
            sessions[id] = entry
        }
        return [
            "r2": r.r2, "r2_mean": r.mean, "causal": r.options.causal, "bin": r.options.bin,
            "weights": r.options.weights.rawValue, "sessions": sessions,
            "ridge": r.sessions.mapValues(\.choice.ridge), "training_samples": r.sessions.mapValues(\.fitSamples),
        ]
    }
}
