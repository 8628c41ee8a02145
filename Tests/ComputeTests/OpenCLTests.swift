import Foundation
import POYOKernels
import TestSupport
import Testing

@testable import Compute

/// The OpenCL backend's own machinery: enumeration, selection, program builds, the kernel cache,
/// deferred errors, readbacks and the buffer pool. Its ops run the shared suite through `DeviceCase`.
@Suite("OpenCL backend")
struct OpenCLTests {
    /// CI installs PoCL, so an absent OpenCL device means the OpenCL suite silently did not run.
    @Test("an OpenCL device is installed and described")
    func listed() throws {
        let devices = try OpenCLDevice.availableDevices()
        try #require(
            !devices.isEmpty, "no OpenCL device: install an ICD (e.g. pocl-opencl-icd) so the OpenCL backend is tested")
        for (i, d) in devices.enumerated() {
            #expect(d.index == i)
            #expect(!d.name.isEmpty && !d.platformName.isEmpty && !d.driverVersion.isEmpty)
            #expect(d.openCLVersion.hasPrefix("OpenCL"), "\(d.openCLVersion)")
            #expect(d.computeUnits > 0 && d.globalMemoryBytes > 0 && d.maxAllocationBytes > 0)
            #expect(["GPU", "CPU", "accelerator", "other"].contains(d.type))
        }
    }

    @Test("--device opencl[:N] and auto")
    func selection() throws {
        let devices = try OpenCLDevice.availableDevices()
        let (d0, note0) = try DeviceSelection(parsing: "opencl:0").make()
        #expect(d0.kind == .opencl && note0 == nil)
        #expect(try DeviceSelection(parsing: "opencl").make().device.kind == .opencl)
        #expect(throws: OpenCLError.noSuchDevice(index: devices.count, available: devices.count)) {
            try DeviceSelection(parsing: "opencl:\(devices.count)").make()
        }
        let (auto, note) = try DeviceSelection.auto.make()
        if devices.contains(where: \.isGPU) {
            #expect(auto.kind == .opencl)
        } else {
            #expect(auto.kind == .cpu)
            #expect(note?.contains("no OpenCL GPU") == true, "\(note ?? "no note")")
        }
    }

    @Test("a kernel that fails to build throws its build log")
    func brokenKernel() throws {
        let dev = try OpenCLDevice(kernelCache: .disabled)
        let source = "__kernel void broken(__global float* x) {\n  x[0] = not_declared_anywhere;\n}\n"
        do {
            _ = try dev.buildProgram(source: source, name: "broken")
            Issue.record("a kernel with an undeclared identifier built")
        } catch let OpenCLError.build(program, status, log) {
            #expect(program == "broken")
            #expect(status == -11, "CL_BUILD_PROGRAM_FAILURE expected, got \(status)")
            #expect(log.contains("not_declared_anywhere"), "the build log should name the culprit: \(log)")
            #expect(
                OpenCLError.build(program: program, status: status, log: log).description.contains(
                    "CL_BUILD_PROGRAM_FAILURE"))
        }
        #expect(throws: POYOKernels.LoadError.self) { try POYOKernels.source("no_such_kernel") }
    }

    @Test("kernel cache: stored once, loaded after; corrupt, truncated or unloadable entries are rebuilt")
    func cacheEntries() throws {
        let dir = try makeTempDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let cache = KernelCache(directory: dir)
        let dev = try OpenCLDevice(kernelCache: cache)
        let source = "__kernel void twice(__global float* x) { x[get_global_id(0)] *= 2.0f; }\n"
        let entries = { try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".bin") } }

        // The device's own kernel families may land in this cache too when this is the first
        // device of the process to build them: only the entry this build adds is ours.
        let before = Set(try entries())
        #expect(try dev.buildProgram(source: source) == .source)
        let files = try entries().filter { !before.contains($0) }
        try #require(files.count == 1, "one new entry expected, found \(files)")
        let entry = dir.appendingPathComponent(files[0])
        let good = try Data(contentsOf: entry)
        #expect(try dev.buildProgram(source: source) == .cache)
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: dir.path).allSatisfy { !$0.hasSuffix(".tmp") },
            "no temporary file may be left behind")

        // A flipped byte in the binary: the checksum catches it; rebuilt and rewritten.
        var corrupt = good
        corrupt[corrupt.count - 100] ^= 0xFF
        try corrupt.write(to: entry)
        #expect(try dev.buildProgram(source: source) == .source)
        #expect(try Data(contentsOf: entry) == good, "the rebuilt entry replaces the corrupt one")
        #expect(try dev.buildProgram(source: source) == .cache)

        // Truncated (a crash mid-write of a non-atomic writer would leave this).
        try good.prefix(good.count / 2).write(to: entry)
        #expect(try dev.buildProgram(source: source) == .source)
        // Not a cache file at all.
        try Data("hello".utf8).write(to: entry)
        #expect(try dev.buildProgram(source: source) == .source)

        // Well-formed and checksummed, but not a binary the driver accepts.
        let key = KernelCache.Key(source: source, options: OpenCLDevice.baseOptions, device: dev.info)
        #expect(cache.url(for: key) == entry)
        cache.store(Array(repeating: 0x5A, count: 4096), for: key)
        #expect(cache.load(key) != nil, "the forged entry passes the file checks")
        #expect(try dev.buildProgram(source: source) == .source)
        #expect(try dev.buildProgram(source: source) == .cache)

        // Other options are another entry.
        #expect(try dev.buildProgram(source: source, options: OpenCLDevice.baseOptions + " -D EXTRA=1") == .source)
        #expect(try entries().filter { !before.contains($0) }.count == 2)
    }

    @Test("kernel cache folder from the environment")
    func cacheFolder() {
        #expect(KernelCache.fromEnvironment(["POYO_KERNEL_CACHE": "off"]) == .disabled)
        #expect(KernelCache.fromEnvironment(["POYO_KERNEL_CACHE": "OFF"]).directory == nil)
        #expect(KernelCache.fromEnvironment(["POYO_KERNEL_CACHE": "/x/k"]).directory?.path == "/x/k")
        #expect(KernelCache.fromEnvironment(["XDG_CACHE_HOME": "/c"]).directory?.path == "/c/poyo/kernels")
        let home = FileManager.default.homeDirectoryForCurrentUser.path
        #expect(KernelCache.fromEnvironment([:]).directory?.path == home + "/.cache/poyo/kernels")
    }

    @Test("SHA-256 matches the FIPS 180-4 examples")
    func sha256() {
        #expect(
            SHA256.hex(SHA256.digest(Array("abc".utf8)))
                == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(SHA256.hex(SHA256.digest([])) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        let long = Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)
        #expect(SHA256.hex(SHA256.digest(long)) == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        var split = SHA256()  // fed in uneven pieces
        split.update(Array(long[0..<5]))
        split.update(Array(long[5..<30]))
        split.update(Array(long[30...]))
        #expect(SHA256.hex(split.finalize()) == SHA256.hex(SHA256.digest(long)))
    }

    @Test("an op given another device's tensor fails at the next download, and the failure sticks")
    func deferredFailure() throws {
        let dev = try OpenCLDevice()
        let x = try dev.upload([Float](arrayLiteral: 1, 2, 3), shape: [3])
        let foreign = try CPUDevice(threads: 1).upload([Float](arrayLiteral: 1, 2, 3), shape: [3])
        dev.axpy(1, foreign, x)
        #expect(throws: ComputeError.wrongDevice(op: "axpy")) { try dev.download(x) }
        dev.scale(x, by: 2)
        #expect(throws: ComputeError.wrongDevice(op: "axpy")) { try dev.synchronize() }
        // a fresh device is unaffected
        let other = try OpenCLDevice()
        #expect(try other.download(try other.upload([Float(4)], shape: [1])) == [4])
    }

    /// Forward, loss, backward and a LAMB step of a tiny model-shaped graph, all on the device.
    private func step(_ dev: OpenCLDevice, _ t: [String: Tensor]) throws {
        let (n, d) = (t["x"]!.rows, t["x"]!.columns)
        dev.gatherRows(table: t["emb"]!, indices: t["idx"]!, out: t["x"]!, accumulate: true)
        dev.layerNormForward(
            x: t["x"]!, gamma: t["gamma"]!, beta: t["beta"]!, out: t["h"]!, mean: t["mean"]!,
            rstd: t["rstd"]!, eps: 1e-5)
        dev.gemm(
            transA: false, transB: true, m: n, n: 3 * d, k: d, alpha: 1, a: t["h"]!.matrix, b: t["w"]!.matrix,
            beta: 0, c: t["qkv"]!.matrix)
        let qkv = t["qkv"]!
        dev.rotary(qkv.columns(0, d), cos: t["cos"]!, sin: t["sin"]!, heads: 2, headDim: d / 2, inverse: false)
        dev.attentionForward(
            q: qkv.columns(0, d), k: qkv.columns(d, d), v: qkv.columns(2 * d, d), out: t["att"]!,
            lse: t["lse"]!, queryOffsets: t["off"]!, keyOffsets: t["off"]!, heads: 2, headDim: d / 2,
            scale: 0.25, dropout: DropoutSpec(p: 0.1, seed: 3))
        dev.weightedMSEForward(pred: t["att"]!, target: t["target"]!, weights: t["weights"]!, loss: t["loss"]!)
        dev.fill(t["dqkv"]!, 0)
        dev.fill(t["dAtt"]!, 0)
        dev.weightedMSEBackward(pred: t["att"]!, target: t["target"]!, weights: t["weights"]!, dPred: t["dAtt"]!)
        let dqkv = t["dqkv"]!
        dev.attentionBackward(
            dOut: t["dAtt"]!, q: qkv.columns(0, d), k: qkv.columns(d, d), v: qkv.columns(2 * d, d),
            out: t["att"]!, lse: t["lse"]!, dQ: dqkv.columns(0, d), dK: dqkv.columns(d, d),
            dV: dqkv.columns(2 * d, d), queryOffsets: t["off"]!, keyOffsets: t["off"]!, heads: 2,
            headDim: d / 2, scale: 0.25, dropout: DropoutSpec(p: 0.1, seed: 3))
        dev.gemm(
            transA: true, transB: false, m: 3 * d, n: d, k: n, alpha: 1, a: dqkv.matrix, b: t["h"]!.matrix,
            beta: 1, c: t["dw"]!.matrix)
        dev.scatterAddRows(t["x"]!, indices: t["idx"]!, into: t["dEmb"]!)
        dev.sumOfSquares(t["dw"]!, into: t["norm"]!, accumulate: false)
        dev.lambStep(param: t["emb"]!, grad: t["dEmb"]!, m: t["m"]!, v: t["v"]!, sparseRows: true, LAMBParams(lr: 1e-3))
        dev.adamWStep(param: t["w"]!, grad: t["dw"]!, m: t["mw"]!, v: t["vw"]!, AdamWParams(lr: 1e-3, step: 1))
    }

    @Test("a training step reads back only when asked, and allocates nothing after warm-up")
    func readbacksAndPool() throws {
        let dev = try OpenCLDevice()
        let (n, d, vocab) = (40, 16, 9)
        var t: [String: Tensor] = [:]
        for (name, shape) in [
            ("x", [n, d]), ("emb", [vocab, d]), ("gamma", [d]), ("beta", [d]), ("w", [3 * d, d]),
            ("cos", [n, 4]), ("sin", [n, 4]), ("target", [n, d]),
        ] {
            t[name] = try dev.upload(randomFloats(shape.reduce(1, *), seed: UInt64(name.count)), shape: shape)
        }
        for (name, shape) in [
            ("h", [n, d]), ("mean", [n]), ("rstd", [n]), ("qkv", [n, 3 * d]), ("att", [n, d]),
            ("lse", [n, 2]), ("loss", [1]), ("dAtt", [n, d]), ("dqkv", [n, 3 * d]), ("dw", [3 * d, d]),
            ("dEmb", [vocab, d]), ("norm", [1]), ("m", [vocab, d]), ("v", [vocab, d]),
            ("mw", [3 * d, d]), ("vw", [3 * d, d]),
        ] {
            t[name] = try dev.zeros(shape)
        }
        t["weights"] = try dev.upload(randomFloats(n, seed: 8).map { abs($0) }, shape: [n])
        t["idx"] = try dev.indices(randomInts(n, bound: vocab, seed: 7))
        t["off"] = try dev.indices([0, 15, 15, 40])

        let r0 = dev.readbackCount
        try step(dev, t)
        try dev.synchronize()
        #expect(dev.readbackCount == r0, "ops and synchronize must not read back")
        let created = dev.buffersCreated
        try step(dev, t)
        #expect(dev.buffersCreated == created, "a second step must take all its scratch from the pool")
        let loss = try dev.readScalar(t["loss"]!)
        #expect(loss.isFinite && loss > 0)
        #expect(dev.readbackCount == r0 + 1)
        _ = try dev.downloadInt32(t["idx"]!)
        #expect(dev.readbackCount == r0 + 2)
        try dev.write(randomFloats(n * d, seed: 9), to: t["x"]!)
        #expect(dev.readbackCount == r0 + 2, "write is not a readback")
    }

    @Test("profileKernels names and times each launch")
    func profile() throws {
        let dev = try OpenCLDevice()
        let a = try dev.upload(randomFloats(64 * 32, seed: 1), shape: [64, 32])
        let c = try dev.zeros([64, 64])
        let times = try dev.profileKernels {
            dev.scale(a, by: 2)
            dev.gemm(
                transA: false, transB: true, m: 64, n: 64, k: 32, alpha: 1, a: a.matrix, b: a.matrix, beta: 0,
                c: c.matrix)
        }
        #expect(times.first?.kernel == "scale")
        #expect(times.contains { $0.kernel == "gemm" })
        #expect(times.allSatisfy { $0.seconds >= 0 })
    }
}
