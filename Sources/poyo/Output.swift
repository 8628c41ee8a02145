import Foundation
import POYO

/// One JSON object on stdout: keys sorted, slashes as they are (paths stay readable).
func printJSON(_ object: [String: Any]) throws {
    let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
    print(String(decoding: data, as: UTF8.self))
}

/// The R² table every command prints: a title, one line per session (with the Wiener filter's R²
/// beside the model's when given), then the caller's summary line. Past `limit` sessions, a
/// summary instead: mean, median, quartiles and range, then the five worst and five best
/// sessions, and `fullTable`: where every session's figure is (`summary.json`, `--json`).
func r2Table(
    title: String, r2: [String: Double], wiener: [String: Double]? = nil, limit: Int = 20, fullTable: String
) -> [String] {
    var lines = [title]
    func row(_ session: String, _ v: Double) -> String {
        let w = wiener?[session].map { String(format: "  Wiener %.4f", $0) } ?? ""
        return String(format: "  %@  %.4f", session, v) + w
    }
    guard r2.count > limit else {
        for (session, v) in r2.sorted(by: { $0.key < $1.key }) { lines.append(row(session, v)) }
        return lines
    }
    let ranked = r2.sorted { $0.value != $1.value ? $0.value < $1.value : $0.key < $1.key }
    let values = ranked.map(\.value)
    // Quantiles by linear interpolation between order statistics (numpy's default).
    func quantile(_ q: Double) -> Double {
        let x = q * Double(values.count - 1)
        let i = Int(x.rounded(.down))
        let f = x - Double(i)
        return i + 1 < values.count ? values[i] * (1 - f) + values[i + 1] * f : values[i]
    }
    let mean = values.reduce(0, +) / Double(values.count)
    lines.append(
        String(
            format: "  %d sessions: mean %.4f, median %.4f, quartiles %.4f / %.4f, range %.4f to %.4f",
            values.count, mean, quantile(0.5), quantile(0.25), quantile(0.75), values[0], values[values.count - 1]))
    if let wiener {
        let w = r2.keys.compactMap { wiener[$0] }
        if !w.isEmpty {
            lines.append(String(format: "  Wiener over the same sessions: mean %.4f", w.reduce(0, +) / Double(w.count)))
        }
    }
    lines.append("  the five worst:")
    for (session, v) in ranked.prefix(5) { lines.append("  " + row(session, v)) }
    lines.append("  the five best:")
    for (session, v) in ranked.suffix(5).reversed() { lines.append("  " + row(session, v)) }
    lines.append("  (every session's R² is in \(fullTable))")
    return lines
}
