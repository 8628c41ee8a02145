import Compute
import Foundation
import POYOData

/// A torch_brain golden fixture (`Tests/Fixtures/golden/*.safetensors`, made by `Tools/golden/make_golden.py`):
/// model, batch and references. `GoldenCheck` runs one on a device; the golden tests and `poyo-bench golden` both
/// go through it, and both find the folder with `directory(searching:)`.
public struct GoldenFixture {
    public let file: SafeTensorsFile
    public let config: POYOConfig
    public let unitVocab: Vocabulary
    public let sessionVocab: Vocabulary
    public let batch: Batch
    public var name: String { URL(fileURLWithPath: file.path).lastPathComponent }

    /// The fixtures' folder inside the repository, relative to its root.
    public static let repositoryPath = "Tests/Fixtures/golden"

    /// Said with every missing-fixture error: where the fixtures come from and how to make them again.
    public static let hint =
        "HINT: the fixtures are committed in \(repositoryPath); to make them again run "
        + "`python3 Tools/golden/make_golden.py --out \(repositoryPath)` (see Tools/golden/README.md)"

    /// The folder to check: `$POYO_GOLDEN_DIR` when set, else the first of `candidates` that exists, else the
    /// first candidate (so that `files(in:)` names it in its error).
    public static func directory(searching candidates: [URL]) -> URL {
        if let d = ProcessInfo.processInfo.environment["POYO_GOLDEN_DIR"], !d.isEmpty {
            return URL(fileURLWithPath: d)
        }
        let found = candidates.first { FileManager.default.fileExists(atPath: $0.path) }
        return found ?? candidates.first ?? URL(fileURLWithPath: repositoryPath)
    }

    /// The `*.safetensors` fixtures in `directory`, sorted by name. A missing or empty folder is an
    /// error naming it and the generator: a golden check that checked nothing must not pass.
    public static func files(in directory: URL) throws -> [URL] {
        let items: [String]
        do {
            items = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        } catch {
            throw POYOError.checkpoint(path: directory.path, reason: "golden fixture folder not readable. \(hint)")
        }
        let names = items.filter { $0.hasSuffix(".safetensors") }.sorted()
        if names.isEmpty {
            throw POYOError.checkpoint(path: directory.path, reason: "no golden fixtures (*.safetensors) here. \(hint)")
        }
        return names.map { directory.appendingPathComponent($0) }
    }

    public init(_ url: URL) throws {
        file = try SafeTensorsFile(path: url.path)
        let meta = file.metadata
        guard let cfg = meta["config"], let uv = meta["unit_vocab"], let sv = meta["session_vocab"] else {
            throw POYOError.checkpoint(path: url.path, reason: "golden metadata lacks config/unit_vocab/session_vocab")
        }
        config = try JSONDecoder().decode(POYOConfig.self, from: Data(cfg.utf8))
        unitVocab = try Vocabulary(storedWords: try JSONDecoder().decode([String].self, from: Data(uv.utf8)))
        sessionVocab = try Vocabulary(storedWords: try JSONDecoder().decode([String].self, from: Data(sv.utf8)))

        func offsets(_ lengths: [Int64]) -> [Int32] {
            var o: [Int32] = [0]
            for l in lengths { o.append(o.last! + Int32(l)) }
            return o
        }
        let inLen = try file.int64s("input.lengths")
        let outLen = try file.int64s("output.lengths")
        batch = Batch(
            windowCount: inLen.count,
            inputUnitIndex: try file.int64s("input.unit_index").map { Int32($0) },
            inputTokenType: try file.int64s("input.token_type").map { Int32($0) },
            inputTimestamps: try file.doubles("input.timestamps"),
            inputOffsets: offsets(inLen),
            latentIndex: try file.int64s("latent.index").map { Int32($0) },
            latentTimestamps: try file.doubles("latent.timestamps"),
            outputTimestamps: try file.doubles("output.timestamps"),
            outputOffsets: offsets(outLen),
            sessionIndex: try file.int64s("output.session_index").map { Int32($0) },
            targets: try file.floats("target.values"),
            weights: try file.floats("target.weights"),
            dimOut: config.dimOut)
    }

    /// The model with the fixture's weights and its stored rotary frequencies.
    public func model(on device: Device) throws -> POYOModel {
        let omega = try file.floats("rotary_emb.omega").prefix(config.dimHead / 4)
        let m = try POYOModel(
            config: config, unitVocab: unitVocab, sessionVocab: sessionVocab, device: device, omega: Array(omega))
        try m.params.load(from: file)
        return m
    }
}
