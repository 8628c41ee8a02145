import Foundation
import POYOKernels
import Testing

@testable import Compute

/// What of the CUDA backend can be checked without a GPU: finding and opening the libraries, the
/// one-line error without a driver, kernel signatures, and every kernel family compiled to a CUBIN
/// through our NVRTC code path (with the NVRTC of NVIDIA's PyPI wheel that
/// `ci/cuda-compile-check.sh` fetches; `ci/test.sh` points POYO_LIBNVRTC at it).
@Suite("CUDA backend without a GPU")
struct CUDATests {
    static let driverPresent = (try? CUDADevice.availableDevices()) != nil

    /// NVRTC from POYO_LIBNVRTC or the loader's path, else nil (the compile test is then skipped).
    static let nvrtc: NVRTCAPI? = try? NVRTCAPI(CUDALibraries.open(CUDALibraries.nvrtc))

    @Test("without a driver, --device cuda fails in one line naming libcuda", .enabled(if: !driverPresent))
    func noDriver() throws {
        for spec in ["cuda", "cuda:1"] {
            do {
                _ = try DeviceSelection(parsing: spec).make()
                Issue.record("\(spec) made a device without a driver")
            } catch {
                let text = "\(error)"
                #expect(text.contains("libcuda") && text.contains("POYO_LIBCUDA"), "\(text)")
                #expect(!text.contains("\n"), "one line: \(text)")
            }
        }
        #expect(throws: CUDAError.self) { try CUDADevice.availableDevices() }
        // auto says why it passed CUDA over, and still gives a device.
        let (_, note) = try DeviceSelection.auto.make()
        #expect(note?.contains("no CUDA driver") == true, "\(note ?? "nil")")
    }

    @Test("--device cuda[:N] parses; bad forms are refused")
    func parsing() throws {
        #expect(try DeviceSelection(parsing: "cuda") == .cuda(index: nil))
        #expect(try DeviceSelection(parsing: "CUDA:2") == .cuda(index: 2))
        for bad in ["cuda:", "cuda:-1", "cuda:x", "cuda0"] {
            #expect(throws: ComputeError.unknownDevice(bad)) { try DeviceSelection(parsing: bad) }
        }
    }

    @Test("library discovery: an explicit path that fails, a library without the symbols, a wheel folder")
    func discovery() throws {
        // An explicit path is used as given: a missing file is an error naming the variable.
        do {
            _ = try CUDALibraries.open(CUDALibraries.driver, environment: ["POYO_LIBCUDA": "/nonexistent/libcuda.so.1"])
            Issue.record("opened a nonexistent libcuda")
        } catch CUDAError.libraryNotFound(let name, let searched) {
            #expect(name == "libcuda" && searched.contains("POYO_LIBCUDA=/nonexistent/libcuda.so.1"))
        }
        // A real library that is not the driver: opened, then the first missing symbol is named.
        let libm = try #require(
            ["/lib/x86_64-linux-gnu/libm.so.6", "/usr/lib64/libm.so.6", "/lib64/libm.so.6"]
                .first { FileManager.default.fileExists(atPath: $0) })
        let fake = try CUDALibraries.open(CUDALibraries.driver, environment: ["POYO_LIBCUDA": libm])
        #expect(fake.path == libm)
        #expect(throws: CUDAError.missingSymbol("cuInit", library: libm)) { try CUDADriverAPI(fake) }

        // NVIDIA's wheels: <venv>/lib/python3.X/site-packages/nvidia/cu13/lib/libcublas.so.13.
        let venv = FileManager.default.temporaryDirectory.appendingPathComponent("poyo-cuda-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: venv) }
        let lib = venv.appendingPathComponent("lib/python3.12/site-packages/nvidia/cu13/lib")
        try FileManager.default.createDirectory(at: lib, withIntermediateDirectories: true)
        let planted = lib.appendingPathComponent("libcublas.so.13").path
        try FileManager.default.copyItem(atPath: libm, toPath: planted)
        let systemHasCublas = (try? CUDALibraries.open(CUDALibraries.cublas, environment: [:])) != nil
        if !systemHasCublas {
            let found = try CUDALibraries.open(CUDALibraries.cublas, environment: ["VIRTUAL_ENV": venv.path])
            #expect(found.path == planted)
            #expect(throws: CUDAError.missingSymbol("cublasCreate_v2", library: planted)) { try CUBLASAPI(found) }
        }
        // A file that is there but does not load is named as such, not as "not found".
        let systemHasNVRTC = (try? CUDALibraries.open(CUDALibraries.nvrtc, environment: [:])) != nil
        if !systemHasNVRTC {
            let broken = lib.appendingPathComponent("libnvrtc.so.13").path
            try "not a library".write(toFile: broken, atomically: true, encoding: .utf8)
            do {
                _ = try CUDALibraries.open(CUDALibraries.nvrtc, environment: ["VIRTUAL_ENV": venv.path])
                Issue.record("a text file loaded as libnvrtc")
            } catch CUDAError.libraryNotFound(let name, let searched) {
                #expect(name == "libnvrtc" && searched.contains("found but not loadable: \(broken)"), "\(searched)")
            }
        }
    }

    @Test("kernel signatures read from the source agree with the OpenCL compiler's CL_KERNEL_NUM_ARGS")
    func signatures() throws {
        guard let dev = try? OpenCLDevice() else {
            Issue.record("no OpenCL device: OpenCLTests fails for that too")
            return
        }
        var checked = 0
        for id in ProgramID.fixed + [.attention(headDim: 64)] {
            let counts = KernelSignatures.parameterCounts(try POYOKernels.programSource(id.file, .cuda))
            #expect(!counts.isEmpty, "\(id.file): no KERNEL found")
            for (name, count) in counts {
                let (_, expected) = try dev.queue.kernel(id, name)
                #expect(count == expected, "\(id.file).\(name): source says \(count), OpenCL says \(expected)")
                checked += 1
            }
        }
        #expect(checked >= 30, "only \(checked) kernels checked")
        #expect(
            ProgramID.attention(headDim: 64).defineList.map { "\($0.0)=\($0.1)" }
                == [
                    "HEAD_DIM=64", "ATT_BQ=\(ProgramID.attentionQueryTile)", "ATT_BK=\(ProgramID.attentionKeyTile)",
                ])
    }

    @Test("a launch whose argument count drifted from the kernel fails loudly at the next sync")
    func driftedLaunch() throws {
        guard let dev = try? OpenCLDevice() else {
            Issue.record("no OpenCL device: OpenCLTests fails for that too")
            return
        }
        let t = try dev.makeTensor([4], dtype: .float32)
        dev.perform { try dev.launch(.elementwise, "fill", global: 4, [.mem(try dev.mem(t, "fill")), .i(4)]) }
        do {
            try dev.synchronize()
            Issue.record("a launch with 2 of fill's 3 arguments went through")
        } catch let e as KernelSignatureError {
            #expect(e.expected == 3 && e.given == 2, "\(e)")
            #expect("\(e)".contains("elementwise.cl fill"))
        }
    }

    @Test("every kernel family compiles to a CUBIN for sm_90 through NVRTC", .enabled(if: nvrtc != nil))
    func nvrtcCompiles() throws {
        let nvrtc = try #require(Self.nvrtc)
        for id in ProgramID.fixed + [.attention(headDim: 64), .attention(headDim: 8)] {
            let source = try POYOKernels.programSource(id.file, .cuda)
            let cubin = try CUDACompiler.cubin(
                nvrtc, source: source, name: id.file + ".cl", options: CUDACompiler.options(id, architecture: "sm_90"))
            #expect(cubin.count > 1000 && Array(cubin.prefix(4)) == [0x7F, 0x45, 0x4C, 0x46], "\(id.file): not an ELF")
        }
        // A broken kernel: the error carries NVRTC's log, pointing into the family file.
        let broken = try POYOKernels.programSource("geglu", .cuda).replacingOccurrences(of: "INV_SQRT2;", with: "x;")
        do {
            _ = try CUDACompiler.cubin(
                nvrtc, source: broken + "\nKERNEL void broken(GLOBAL float* p) { p[0] = undefined_name; }\n",
                name: "geglu.cl", options: CUDACompiler.options(.geglu, architecture: "sm_90"))
            Issue.record("a kernel with an undefined name compiled")
        } catch CUDAError.compile(let program, let log) {
            #expect(program.contains("geglu.cl") && log.contains("undefined_name"), "\(log)")
        }
    }
}
