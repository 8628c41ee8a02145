import Compute
import Foundation
import POYO
import TestSupport
import Testing

/// Safetensors files are read as untrusted input: sizes are overflow-checked, tensor ranges must tile
/// the data, and the files we write are sealed (header and data) so that any altered byte is an error.
@Suite struct SealedFileTests {
    /// A small file of ours: two tensors and some metadata.
    static func written() throws -> Data {
        var w = SafeTensorsWriter()
        w.add("a", floats: [1, 2, 3, 4], shape: [2, 2])
        w.add("b", floats: [5, 6], shape: [2])
        w.metadata["unit_vocab"] = #"["NA", "s/unit_1", "s/unit_2"]"#
        return try w.encoded()
    }

    /// `data` with its header replaced (the payload kept), as a crafted file would be.
    static func withHeader(_ data: Data, _ edit: (inout [String: Any]) -> Void) throws -> Data {
        let n = data.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        var header = try #require(try JSONSerialization.jsonObject(with: data[8..<(8 + n)]) as? [String: Any])
        edit(&header)
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        while json.count % 8 != 0 { json.append(0x20) }
        var out = Data()
        var length = UInt64(json.count).littleEndian
        withUnsafeBytes(of: &length) { out.append(contentsOf: $0) }
        return out + json + data[(8 + n)...]
    }

    static func load(_ data: Data) throws -> SafeTensorsFile { try SafeTensorsFile(data: data, path: "x.safetensors") }

    static func message(_ body: () throws -> Void) -> String {
        do {
            try body()
            return "(no error)"
        } catch {
            return "\(error)"
        }
    }

    @Test func ourFilesAreSealedAndReadBack() throws {
        let f = try Self.load(try Self.written())
        #expect(f.metadata[SafeTensorsFile.sealKey]?.count == 64 && f.hasChecksum)
        #expect(try f.floats("a") == [1, 2, 3, 4] && f.floats("b") == [5, 6])
    }

    /// The seal as another implementation computes it (Python's hashlib, `Tests/Fixtures/fuzz`'s seed):
    /// the definition in the docs is enough to write a sealed file.
    @Test func aSealWrittenElsewhereIsAccepted() throws {
        let url = packageRoot().appendingPathComponent("Tests/Fixtures/fuzz/safetensors/sealed.safetensors")
        let f = try SafeTensorsFile(path: url.path)
        #expect(f.metadata[SafeTensorsFile.sealKey] != nil)
        #expect(try f.floats("unit_emb.weight") == [0, 0, 1, 2, 3, 4])
        var bytes = try Data(contentsOf: url)
        bytes[bytes.count - 1] ^= 1
        #expect(Self.message { _ = try Self.load(bytes) }.contains("seal"))
    }

    /// One flipped character in the vocabulary (a unit id turned into another) was read silently.
    @Test func aFlipInTheHeaderMetadataBreaksTheSeal() throws {
        var data = try Self.written()
        let at = try #require(data.range(of: Data("unit_2".utf8)))
        data[at.upperBound - 1] = UInt8(ascii: "1")
        let text = Self.message { _ = try Self.load(data) }
        #expect(text.contains("seal") && text.contains("x.safetensors"), "\(text)")
    }

    /// A tensor pointed at another's bytes loaded aliased weights with exit 0.
    @Test func overlappingGappedAndTrailingRangesAreRefused() throws {
        let plain = try Self.withHeader(try Self.written()) { h in
            var meta = h["__metadata__"] as? [String: Any] ?? [:]
            meta[SafeTensorsFile.sealKey] = nil
            meta[SafeTensorsFile.checksumKey] = nil
            h["__metadata__"] = meta
        }
        #expect(try Self.load(plain).floats("b") == [5, 6], "a file without a checksum (others') is still read")
        let overlap = try Self.withHeader(plain) { h in
            h["b"] = ["dtype": "F32", "shape": [2], "data_offsets": [0, 8]]
        }
        #expect(Self.message { _ = try Self.load(overlap) }.contains("overlaps"))
        let gap = try Self.withHeader(plain) { h in h["a"] = ["dtype": "F32", "shape": [2], "data_offsets": [0, 8]] }
        #expect(Self.message { _ = try Self.load(gap) }.contains("gap"))
        let trailing = try Self.withHeader(plain) { h in
            h["b"] = ["dtype": "F32", "shape": [1], "data_offsets": [16, 20]]
        }
        #expect(Self.message { _ = try Self.load(trailing) }.contains("belong to none"))
    }

    /// A shape whose size overflows trapped (exit 132) in `eval` and `finetune`.
    @Test func anOverflowingShapeIsAnErrorNotATrap() throws {
        let huge = try Self.withHeader(try Self.written()) { h in
            h["a"] = ["dtype": "F32", "shape": [1 << 40, 1 << 40], "data_offsets": [0, 16]]
        }
        let text = Self.message { _ = try Self.load(huge) }
        #expect(text.contains("'a'") && text.contains("not a valid size"), "\(text)")
    }

    /// A stored config with an absurd size is the checkpoint's error, naming the key (probe #56).
    @Test func anAbsurdStoredConfigNamesTheCheckpointAndKey() throws {
        let dir = try makeTempDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        var config = Small.config
        config.dim = 100_000_000
        var w = SafeTensorsWriter()
        w.add("a", floats: [1], shape: [1])
        w.metadata["config"] = String(decoding: try JSONEncoder().encode(config), as: UTF8.self)
        let path = dir.appendingPathComponent("ck.safetensors").path
        try w.encoded().write(to: URL(fileURLWithPath: path))
        let text = Self.message { _ = try Checkpoint.config(of: path) }
        #expect(
            text.contains(path) && text.contains("stored config") && text.contains("dim 100000000 is above 2^24"),
            "\(text)")
    }
}
