import Foundation
import POYO

/// One JSON object on stdout: keys sorted, slashes as they are (paths stay readable).
func printJSON(_ object: [String: Any]) throws {
    let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
    print(String(decoding: data, as: UTF8.self))
}

/// The R² table every command prints: a title, one line per session (with the Wiener filter's R²
/// beside the model's when given), then the caller's summary line.
func r2Table(title: String, r2: [String: Double], wiener: [String: Double]? = nil) -> [String] {
    var lines = [title]
    for (session, v) in r2.sorted(by: { $0.key < $1.key }) {
        let w = wiener?[session].map { String(format: "  Wiener %.4f", $0) } ?? ""
        lines.append(String(format: "  %@  %.4f", session, v) + w)
    }
    return lines
}
