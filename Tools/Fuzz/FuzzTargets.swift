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
    /// `RecordingReader.load` (brainsets, NWB, temporaldata; lazy and eager spikes) and `poyo inspect`'s
    /// report on a well-formed HDF5 file that an `HDF5Recipe` builds, then every spike window read back.
    case recording

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
        case .recording:
            let recipe = HDF5Recipe(String(decoding: bytes, as: UTF8.self))
            let path = FuzzTarget.scratchFile
            guard recipe.build(at: path, fixtures: FuzzTarget.fixtures) else { return }
            FuzzTarget.read(path, recipe.options)
        }
    }

    /// Loads the file, then reads its spikes back in windows as training would.
    static func read(_ path: String, _ options: ReaderOptions) {
        let loaded: LoadedRecording
        do {
            loaded = try RecordingReader.load(URL(fileURLWithPath: path), options: options)
        } catch {
            // POYO_FUZZ_VERBOSE=1 shows what each input does (for writing seeds).
            if verbose { print("recording: \(error)") }
            return
        }
        if verbose {
            let r = loaded.recording
            print("recording: \(loaded.summary.format) \(r.unitCount) units, \(r.spikeCount) spikes")
        }
        let recording = loaded.recording
        _ = try? Inspector.inspect([path], options: options).json()
        guard let source = recording.spikeSource else { return }
        _ = try? source.allSpikes()
        for interval in [recording.trainDomain, recording.validDomain, recording.testDomain] {
            for part in interval.prefix(8) {
                for second in 0..<8 where part.start + Double(second) < part.end {
                    let t = part.start + Double(second)
                    _ = try? source.spikes(from: t, to: t + 1, keep: nil)
                }
            }
        }
    }

    static let verbose = ProcessInfo.processInfo.environment["POYO_FUZZ_VERBOSE"] == "1"

    /// Where the recording target writes its file: one per process, in memory when /dev/shm exists.
    static let scratchFile: String = {
        let folder = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
        return "\(folder)/poyo-fuzz-\(getpid()).h5"
    }()

    /// `Tests/Fixtures`, found from the working directory (`ci/fuzz.sh` and `ci/test.sh` run from
    /// the repository's root) or `POYO_FUZZ_FIXTURES`; without it a recipe's `base` cannot be copied.
    static let fixtures: URL = {
        let path = ProcessInfo.processInfo.environment["POYO_FUZZ_FIXTURES"] ?? "Tests/Fixtures"
        guard FileManager.default.fileExists(atPath: path + "/" + HDF5Recipe.fixtures[0]) else {
            FileHandle.standardError.write(
                Data("poyo-fuzz: no fixtures in \(path) (run from the repository root)\n".utf8))
            exit(2)
        }
        return URL(fileURLWithPath: path)
    }()
}
