import Foundation

/// The stand-in CUDA driver of `Tests/Fixtures/fake_cuda.c` (libcuda, libnvrtc and libcublas entry
/// points in one library), compiled once per test process with `cc -shared`; nil without a C
/// compiler. Point POYO_LIBCUDA, POYO_LIBNVRTC and POYO_LIBCUBLAS at it.
public enum FakeCUDA {
    public static let library: String? = compile("libfakecuda.so", [])
    /// The same, also answering cuFuncGetParamInfo (as CUDA 12.4+ drivers do) for the faked kernels.
    public static let libraryWithParamInfo: String? = compile("libfakecuda-paraminfo.so", ["-DFAKE_PARAM_INFO"])

    static func compile(_ name: String, _ flags: [String], source file: String = "fake_cuda.c") -> String? {
        let source = packageRoot().appendingPathComponent("Tests/Fixtures/" + file).path
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("poyo-fake-cuda-\(getpid())")
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let out = dir.appendingPathComponent(name).path
        let cc = Process()
        cc.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        cc.arguments = ["cc", "-shared", "-fPIC", "-O1"] + flags + ["-o", out, source]
        guard (try? cc.run()) != nil else { return nil }
        cc.waitUntilExit()
        return cc.terminationStatus == 0 ? out : nil
    }

    /// The environment that makes the CUDA backend load the stand-in for all three libraries.
    public static var environment: [String: String] {
        guard let lib = library else { return [:] }
        return ["POYO_LIBCUDA": lib, "POYO_LIBNVRTC": lib, "POYO_LIBCUBLAS": lib]
    }
}

/// The stand-in NCCL of `Tests/Fixtures/fake_nccl.c` (ranks are threads of the test process); nil
/// without a C compiler. Point POYO_LIBNCCL at it.
public enum FakeNCCL {
    public static let library: String? = FakeCUDA.compile("libfakenccl.so", ["-pthread"], source: "fake_nccl.c")
}
