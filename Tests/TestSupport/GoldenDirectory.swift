import Foundation
import POYO

extension GoldenFixture {
    /// The directory named by `POYO_GOLDEN_DIR`, else `../shared/golden` beside the repository.
    public static var directory: URL {
        if let d = ProcessInfo.processInfo.environment["POYO_GOLDEN_DIR"], !d.isEmpty { return URL(fileURLWithPath: d) }
        return packageRoot().deletingLastPathComponent().appendingPathComponent("shared/golden")
    }

    /// Every fixture of `directory` (an error if there is none).
    public static func all() throws -> [URL] { try files(in: directory) }
}
