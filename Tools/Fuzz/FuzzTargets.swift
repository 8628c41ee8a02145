import Foundation
import POYO
import POYOData

/// The parsers of untrusted bytes that the fuzzers drive: each takes any bytes and must return or
/// throw, never trap, hang or read outside its input. `POYO_FUZZ_TARGET` picks one (see `ci/fuzz.sh`).
enum FuzzTarget: String, CaseIterable {
    /// `SafeTensorsFile(data:)` (checkpoints, train states, golden fixtures), then every tensor read
    /// as each type it could be, and the POYO config and vocabularies a checkpoint carries.
    case safetensors
    /// `ConfigFile.parse(yaml:)`: YAML, the model/training/dataset/finetune sections, every value.
    case config

    static var selected: FuzzTarget? {
        ProcessInfo.processInfo.environment["POYO_FUZZ_TARGET"].flatMap(FuzzTarget.init(rawValue:))
    }

    func run(_ bytes: Data) {
        switch self {
        case .safetensors:
            guard let file = try? SafeTensorsFile(data: bytes, path: "fuzz.safetensors") else { return }
            for name in file.names {
                _ = try? file.floats(name)
                _ = try? file.doubles(name)
                _ = try? file.int64s(name)
            }
            if let config = file.metadata["config"] {
                _ = try? JSONDecoder().decode(POYOConfig.self, from: Data(config.utf8))
            }
            for key in ["unit_vocab", "session_vocab"] {
                if let words = file.metadata[key].flatMap({
                    try? JSONDecoder().decode([String].self, from: Data($0.utf8))
                }) {
                    _ = try? Vocabulary(storedWords: words)
                }
            }
        case .config:
            let text = String(decoding: bytes, as: UTF8.self)
            _ = try? ConfigFile.parse(yaml: text, path: "/nonexistent/fuzz/config.yaml")
        }
    }
}
