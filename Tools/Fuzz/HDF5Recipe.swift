import Foundation
import POYOData

/// A structure-aware description of a recording file, for the `recording` fuzz target.
///
/// Why not raw HDF5 bytes: libhdf5 trusts a file's metadata and can crash on a corrupt one, which
/// is why recordings are read in a separate process (`Isolation`, covered by the byte-flip tests).
/// Fuzzing raw bytes here would find libhdf5's crashes, not ours. A recipe instead builds a
/// well-formed file through libhdf5 itself, from a fixture or from nothing, and libFuzzer mutates
/// what our readers interpret: which objects exist, their types, shapes and values (NaN, ∞, huge,
/// unsorted, out of range) and the attributes that select formats and presets.
///
/// One instruction per line (unknown lines are ignored, so every mutation still means something):
///
///     base N                          start from fixture N (modulo the list); else an empty file
///     option format nwb|brainsets     ReaderOptions: format, behaviour, eval, preset, lazy (0|1)
///     group PATH                      a group (and its missing parents)
///     delete PATH                     unlink a dataset or group
///     TYPE PATH SHAPE GENERATOR...    a dataset, replacing any at PATH; TYPE f64|f32|i64|i32|str|vstr,
///                                     SHAPE `5` or `5x2` (≤ 2^16 values)
///     attr PATH NAME TYPE GENERATOR.. an attribute, replacing any; TYPE str (scalar text),
///                                     strs (byte strings), f64 (array), i64 (scalar)
///     unattr PATH NAME                remove an attribute
///
/// Generators fill the values in order: `= v v v` (repeated to fill; `nan`, `inf` allowed),
/// `ramp START STEP`, `rand SEED LO HI`, `sorted SEED LO HI`, `mod K` (i mod K),
/// `names PREFIX` (PREFIX0, PREFIX1, ...); anything else gives zeros.
struct HDF5Recipe {
    /// The fixtures a recipe can start from, in `Tests/Fixtures` (`base N` picks N mod count).
    static let fixtures = [
        "perich_c_center_out.h5", "nlb_maze_hand_regular.h5", "temporaldata_no_phases.h5",
        "nlb_maze_jenkins.nwb", "nlb_rtt_indy.nwb", "nlb_maze_short_trials.nwb",
        "bad_unsorted_spikes.h5", "bad_spikes_outside_domain.h5", "bad_empty_unit.nwb",
        "bad_nan_velocity.nwb",
    ]

    static let maxValues = 1 << 16

    var base: Int?
    var options = ReaderOptions()
    var steps: [Substring] = []

    init(_ text: String) {
        options.isolate = false  // the recipe's file is well-formed: read it here, under the sanitizers
        for line in text.split(whereSeparator: \.isNewline) {
            let words = line.split(separator: " ", omittingEmptySubsequences: true)
            guard let head = words.first else { continue }
            switch head {
            case "base": base = words.count > 1 ? Int(words[1]).map { abs($0 % HDF5Recipe.fixtures.count) } : nil
            case "option": setOption(words.dropFirst().map(String.init))
            default: steps.append(line)
            }
        }
    }

    private mutating func setOption(_ words: [String]) {
        guard words.count >= 2 else { return }
        let value = words[1]
        switch words[0] {
        case "format": options.format = RecordingFormat(rawValue: value)
        case "behaviour": options.behaviour = value
        case "eval": options.evalIntervals = value
        case "preset": options.preset = PresetChoice(name: value) ?? .none
        case "lazy": options.lazySpikes = value != "0"
        default: break
        }
    }

    /// Writes the file at `path` (copying the base fixture from `fixtures` first); false when the
    /// base could not be copied. Instructions libhdf5 refuses (a dataset under a dataset, say) are skipped.
    func build(at path: String, fixtures: URL) -> Bool {
        try? FileManager.default.removeItem(atPath: path)
        let file: HDF5File
        do {
            if let base {
                let source = fixtures.appendingPathComponent(HDF5Recipe.fixtures[base])
                try FileManager.default.copyItem(atPath: source.path, toPath: path)
                file = try HDF5File(editingAt: path)
            } else {
                file = try HDF5File(creatingAt: path)
            }
        } catch {
            return false
        }
        for step in steps {
            try? apply(step, to: file)
        }
        return true
    }

    private func apply(_ line: Substring, to file: HDF5File) throws {
        let words = line.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        guard words.count >= 2 else { return }
        let path = words[1]
        switch words[0] {
        case "group":
            try makeParents(of: path + "/x", in: file)
        case "delete":
            try file.delete(path)
        case "unattr":
            guard words.count >= 3 else { return }
            try file.deleteAttribute(words[2], at: path)
        case "attr":
            guard words.count >= 4 else { return }
            try setAttribute(words[2], type: words[3], generator: Array(words.dropFirst(4)), at: path, in: file)
        case "f64", "f32", "i64", "i32", "str", "vstr":
            guard words.count >= 3, let shape = HDF5Recipe.shape(words[2]) else { return }
            try writeDataset(type: words[0], path: path, shape: shape, generator: Array(words.dropFirst(3)), in: file)
        default:
            return
        }
    }

    private func writeDataset(type: String, path: String, shape: [Int], generator: [String], in file: HDF5File) throws {
        let count = shape.reduce(1, *)
        if file.exists(path) { try file.delete(path) }
        try makeParents(of: path, in: file)
        switch type {
        case "f64": try file.write(HDF5Recipe.numbers(generator, count), shape: shape, to: path)
        case "f32": try file.write(HDF5Recipe.numbers(generator, count).map(Float.init), shape: shape, to: path)
        case "i64": try file.write(HDF5Recipe.numbers(generator, count).map(HDF5Recipe.int64), shape: shape, to: path)
        case "i32":
            let values = HDF5Recipe.numbers(generator, count).map { Int32(truncatingIfNeeded: HDF5Recipe.int64($0)) }
            try file.write(values, shape: shape, to: path)
        case "str": try file.write(strings: HDF5Recipe.texts(generator, shape[0]), to: path)
        default: try file.write(variableStrings: HDF5Recipe.texts(generator, shape[0]), to: path)
        }
    }

    private func setAttribute(_ name: String, type: String, generator: [String], at path: String, in file: HDF5File)
        throws
    {
        if !file.exists(path) { try makeParents(of: path + "/x", in: file) }
        if file.hasAttribute(name, at: path) { try file.deleteAttribute(name, at: path) }
        switch type {
        case "str": try file.setAttribute(name, string: generator.joined(separator: " "), at: path)
        case "strs": try file.setAttribute(name, bytesArray: HDF5Recipe.texts(generator, generator.count), at: path)
        case "f64":
            // `= a b c` gives as many values as listed; any other generator, one.
            let count = generator.first == "=" ? max(1, generator.count - 1) : 1
            try file.setAttribute(name, doubles: HDF5Recipe.numbers(generator, count), at: path)
        case "i64": try file.setAttribute(name, int: HDF5Recipe.int64(HDF5Recipe.numbers(generator, 1)[0]), at: path)
        default: return
        }
    }

    /// Creates the groups above `path` that do not exist yet.
    private func makeParents(of path: String, in file: HDF5File) throws {
        var prefix = ""
        for part in path.split(separator: "/").dropLast() {
            prefix += "/" + part
            if !file.exists(prefix) { try file.createGroup(prefix) }
        }
    }

    /// `5` or `5x2`: each dimension 0…2^16, at most `maxValues` values; nil otherwise.
    static func shape(_ text: String) -> [Int]? {
        let dims = text.split(separator: "x").map { Int($0) }
        guard (1...3).contains(dims.count), dims.allSatisfy({ ($0 ?? -1) >= 0 && $0! <= maxValues }) else { return nil }
        let shape = dims.map { $0! }
        return shape.reduce(1, *) <= maxValues ? shape : nil
    }

    static func int64(_ x: Double) -> Int64 {
        x.isFinite && abs(x) < 9e18 ? Int64(x) : (x > 0 ? Int64.max : Int64.min)
    }

    static func numbers(_ generator: [String], _ count: Int) -> [Double] {
        let args = generator.dropFirst().map { Double($0) ?? 0 }
        func arg(_ i: Int) -> Double { i < args.count ? args[i] : 0 }
        switch generator.first {
        case "=":
            let listed = generator.dropFirst().map { Double($0) ?? 0 }
            return listed.isEmpty ? Array(repeating: 0, count: count) : (0..<count).map { listed[$0 % listed.count] }
        case "ramp": return (0..<count).map { arg(0) + Double($0) * arg(1) }
        case "rand", "sorted":
            var rng = SeededRNG(seed: UInt64(bitPattern: int64(arg(0))))
            let values = (0..<count).map { _ in rng.uniform(arg(1), arg(2)) }
            return generator.first == "sorted" ? values.sorted() : values
        case "mod":
            let k = max(1, min(Int(clamping: int64(arg(0))), maxValues))
            return (0..<count).map { Double($0 % k) }
        default: return Array(repeating: 0, count: count)
        }
    }

    static func texts(_ generator: [String], _ count: Int) -> [String] {
        switch generator.first {
        case "=":
            let listed = Array(generator.dropFirst())
            return listed.isEmpty ? Array(repeating: "", count: count) : (0..<count).map { listed[$0 % listed.count] }
        case "names":
            let prefix = generator.count > 1 ? generator[1] : ""
            return (0..<count).map { prefix + String($0) }
        default: return Array(repeating: "", count: count)
        }
    }
}
