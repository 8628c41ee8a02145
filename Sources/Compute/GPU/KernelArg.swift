import Foundation

/// One kernel argument. Scalars are passed bytewise (their Swift layout is the C layout).
enum KernelArg {
    case mem(DeviceMemory?)  // nil passes a NULL buffer (an argument the kernel does not read)
    case int(Int32)
    case uint(UInt32)
    case ulong(UInt64)
    case float(Float)

    /// An element count, index or size: the device refuses tensors past Int32.max elements, so it fits.
    static func i(_ x: Int) -> KernelArg { .int(Int32(truncatingIfNeeded: x)) }
    static func flag(_ b: Bool) -> KernelArg { .int(b ? 1 : 0) }
}

/// The programs a GPU device builds: a kernel family (`Kernels/cl/<file>.cl`) plus its extra defines.
struct ProgramID: Hashable {
    let file: String
    /// Extra `-D NAME=value` defines, space-separated ("" for none).
    var defines: String = ""

    static let elementwise = ProgramID(file: "elementwise")
    static let reduce = ProgramID(file: "reduce")
    static let embedding = ProgramID(file: "embedding")
    static let layernorm = ProgramID(file: "layernorm")
    static let geglu = ProgramID(file: "geglu")
    static let rotary = ProgramID(file: "rotary")
    static let loss = ProgramID(file: "loss")
    static let optim = ProgramID(file: "optim")
    /// Head dim as a define (per-work-item rows then live in private memory), and the tile sizes.
    static func attention(headDim: Int) -> ProgramID {
        ProgramID(
            file: "attention",
            defines: "-D HEAD_DIM=\(headDim) -D ATT_BQ=\(attentionQueryTile) -D ATT_BK=\(attentionKeyTile)")
    }

    /// Rows per work-group of the attention kernels: query rows (forward, dQ), key rows (dK, dV).
    static let attentionQueryTile = 32
    static let attentionKeyTile = 32

    /// Every family without size defines, built when a device is made so a broken kernel fails early.
    static let fixed: [ProgramID] = [.elementwise, .reduce, .embedding, .layernorm, .geglu, .rotary, .loss, .optim]

    /// The defines as (name, value) pairs, for compilers that take them one by one (NVRTC).
    var defineList: [(String, String)] {
        var out: [(String, String)] = []
        var tokens = defines.split(separator: " ").makeIterator()
        while let token = tokens.next() {
            guard token.hasPrefix("-D") else { continue }
            // "-D NAME=value" (as the OpenCL options are written) or "-DNAME=value".
            guard let define = token == "-D" ? tokens.next() : token.dropFirst(2) else { break }
            let kv = define.split(separator: "=", maxSplits: 1)
            if let name = kv.first { out.append((String(name), kv.count > 1 ? String(kv[1]) : "1")) }
        }
        return out
    }
}

/// Parameter counts of the `KERNEL void name(...)` definitions in a kernel source, read from the
/// text: how the CUDA backend checks a launch's argument count where the driver cannot say.
enum KernelSignatures {
    static func parameterCounts(_ source: String) -> [String: Int] {
        var counts: [String: Int] = [:]
        var rest = Substring(source)
        while let k = rest.range(of: "KERNEL void ") {
            rest = rest[k.upperBound...]
            guard let open = rest.firstIndex(of: "(") else { break }
            let name = rest[..<open].trimmingCharacters(in: .whitespacesAndNewlines)
            var depth = 0
            var commas = 0
            var nonEmpty = false
            var i = open
            scan: while i < rest.endIndex {
                switch rest[i] {
                case "(": depth += 1
                case ")":
                    depth -= 1
                    if depth == 0 { break scan }
                case ",": if depth == 1 { commas += 1 }
                case " ", "\n", "\t": break
                default: if depth >= 1 { nonEmpty = true }
                }
                i = rest.index(after: i)
            }
            counts[name] = nonEmpty ? commas + 1 : 0
            rest = rest[i...]
        }
        return counts
    }
}

/// A launch whose argument count differs from the kernel's parameter count: the host code and the
/// kernel source drifted apart.
struct KernelSignatureError: Error, CustomStringConvertible {
    let kernel: String
    let expected: Int
    let given: Int

    var description: String { "\(kernel): launched with \(given) arguments, the kernel takes \(expected)" }
}
