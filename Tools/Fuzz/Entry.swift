import Foundation

#if FUZZING
    /// libFuzzer's entry (built by `ci/fuzz.sh` with `--sanitize fuzzer --sanitize address -DFUZZING`;
    /// libFuzzer supplies `main`).
    @_cdecl("LLVMFuzzerTestOneInput")
    public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
        guard let target = FuzzTarget.selected else {
            FileHandle.standardError.write(Data("set POYO_FUZZ_TARGET to safetensors, config or recording\n".utf8))
            exit(2)
        }
        target.run(data.map { Data(bytes: $0, count: size) } ?? Data())
        return 0
    }
#else
    /// Without the fuzzer: `poyo-fuzz TARGET FILE|DIR...` runs every input once through a target (the
    /// seed corpora and any crash a fuzzer found replay in an ordinary build, as a regression check).
    @main
    enum FuzzReplay {
        static func main() {
            let args = Array(CommandLine.arguments.dropFirst())
            guard let name = args.first, let target = FuzzTarget(rawValue: name), args.count > 1 else {
                let names = FuzzTarget.allCases.map(\.rawValue).joined(separator: "|")
                FileHandle.standardError.write(Data("usage: poyo-fuzz \(names) FILE|DIR...\n".utf8))
                exit(64)
            }
            var inputs: [URL] = []
            for path in args.dropFirst() {
                let url = URL(fileURLWithPath: path)
                var isFolder: ObjCBool = false
                guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else {
                    FileHandle.standardError.write(Data("\(path): no such file\n".utf8))
                    exit(1)
                }
                // Foundation on Linux lists a plain file as an empty folder: ask which it is first.
                let listed =
                    isFolder.boolValue
                    ? try? FileManager.default.contentsOfDirectory(at: url, includingPropertiesForKeys: nil) : nil
                inputs += listed?.sorted { $0.path < $1.path } ?? [url]
            }
            for url in inputs {
                guard let data = FileManager.default.contents(atPath: url.path) else {
                    FileHandle.standardError.write(Data("\(url.path): cannot read\n".utf8))
                    exit(1)
                }
                target.run(data)
            }
            print("poyo-fuzz \(name): \(inputs.count) input(s) ran without a crash")
        }
    }
#endif
