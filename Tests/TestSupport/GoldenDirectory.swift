import Foundation
import POYO

extension GoldenFixture {
    /// The directory named by `POYO_GOLDEN_DIR`, else the repository's own `Tests/Fixtures/golden`.
    public static var directory: URL {
        directory(searching: [packageRoot().appendingPathComponent(repositoryPath)])
    }

    /// Every fixture of `directory` (an error naming the generator if there is none).
    public static func all() throws -> [URL] { try files(in: directory) }
}
