import Foundation
import POYOKernels
import TestSupport
import Testing

@testable import Compute

/// `CUDADevice`'s host code on a stand-in driver (`Tests/Fixtures/fake_cuda.c`, compiled here with
/// `cc -shared`): the same Swift that would drive a GPU, with host memory for device memory, a few
/// elementwise kernels run on the host by name, and a reference column-major SGEMM. It checks what a
/// GPU-less machine otherwise never runs: device set-up, memory and copies, argument marshalling
/// (pointers, int, uint, ulong, float), launch geometry, the row-major → cuBLAS mapping, deferred
/// failures, the pool, event timing and NVRTC error reporting.
@Suite("CUDA backend on a stand-in driver", .serialized)
struct FakeCUDATests {
    static var compiled: Bool { FakeCUDA.library != nil }

    func device(library: String? = FakeCUDA.library) throws -> CUDADevice {
        let lib = try #require(library, "the stand-in driver did not compile")
        let env = ["POYO_LIBCUDA": lib, "POYO_LIBNVRTC": lib, "POYO_LIBCUBLAS": lib]
        let driver = try CUDARuntime.load(CUDADriverAPI(try CUDALibraries.open(CUDALibraries.driver, environment: env)))
        return try CUDADevice(
            driver: driver, nvrtc: try NVRTCAPI(try CUDALibraries.open(CUDALibraries.nvrtc, environment: env)),
            cublas: try CUBLASAPI(try CUDALibraries.open(CUDALibraries.cublas, environment: env)), index: 0,
            kernelCache: .disabled, tf32: false)
    }

    @Test(
        "set-up: the device, its name, every kernel family loaded; memory, copies and zeroing", .enabled(if: compiled))
    func setUpAndMemory() throws {
        let dev = try device()
        #expect(dev.name == "cuda:0 (Fake GPU, sm_90)" && dev.kind == .cuda)
        #expect(dev.info.multiprocessors == 4 && dev.info.driverVersion == 13000)
        let values: [Float] = (0..<1000).map { Float($0) * 0.5 - 7 }
        #expect(try dev.download(try dev.upload(values, shape: [10, 100])) == values)
        let ints: [Int32] = [3, -1, 7, Int32.max]
        #expect(try dev.downloadInt32(try dev.upload(ints, shape: [4])) == ints)
        // Fresh memory is 0xFF garbage in the stand-in: makeTensor must zero it.
        #expect(try dev.download(try dev.makeTensor([7, 3], dtype: .float32)).allSatisfy { $0 == 0 })
        #expect(throws: ComputeError.self) {
            try dev.write([Float](repeating: 1, count: 3), to: try dev.makeTensor([2], dtype: .float32))
        }
        // A write at an offset lands at the device pointer plus its bytes; download into a buffer.
        let t = try dev.upload(values, shape: [10, 100])
        let part: [Float] = [1, 2, 3]
        try part.withUnsafeBufferPointer { try dev.write($0, to: t, offset: 997) }
        var back = [Float](repeating: 0, count: 1000)
        try back.withUnsafeMutableBufferPointer { try dev.download(t, into: $0) }
        #expect(Array(back[0..<997]) == Array(values[0..<997]) && Array(back[997...]) == part)
        #expect(try dev.deviceSeconds {} == 0.00025)
    }

    @Test("elementwise kernels: arguments and grid as the kernels declare them", .enabled(if: compiled))
    func elementwise() throws {
        let dev = try device()
        let cpu = CPUDevice(threads: 2)
        let n = 1000  // not a multiple of the 128-wide groups: the grid must round up
        let (xf, _) = randomPair(n, seed: 40)
        let (yf, _) = randomPair(n, seed: 41)
        let (bf, _) = randomPair(10, seed: 42)
        func run(_ d: any Device) throws -> [[Float]] {
            let x = try d.tensor(xf, [n])
            let y = try d.tensor(yf, [n])
            var results: [[Float]] = []
            d.axpy(0.5, x, y)
            results.append(try d.download(y))
            d.scale(y, by: -3)
            results.append(try d.download(y))
            d.copy(y, to: x)
            results.append(try d.download(x))
            d.dropout(x, DropoutSpec(p: 0.3, seed: 0xDEAD_BEEF_1234))
            results.append(try d.download(x))
            let m = try d.tensor(xf, [100, 10])
            d.addBias(m, try d.tensor(bf, [10]))
            results.append(try d.download(m))
            d.fill(m, 2.5)
            results.append(try d.download(m))
            return results
        }
        let names = ["axpy", "scale", "copy", "dropout", "addBias", "fill"]
        for (name, (got, want)) in zip(names, zip(try run(dev), try run(cpu))) {
            expectBitwiseEqual(got, want, "\(name) on the stand-in driver vs the CPU backend")
        }
    }

    @Test("gemm through cuBLAS: row-major views, every transpose, beta 0 over NaN", .enabled(if: compiled))
    func gemm() throws {
        let dev = try device()
        let check = LinearTests()
        for (m, n, k) in [(5, 7, 6), (33, 17, 40)] {
            for transA in [false, true] {
                for transB in [false, true] {
                    for beta in [0.0, 0.5] {
                        try check.checkGemm(
                            dev, m: m, n: n, k: k, transA: transA, transB: transB, beta: beta, seed: 50,
                            nanC: beta == 0)
                    }
                }
            }
        }
    }

    @Test("failures: a kernel the driver rejects, a drifted argument count, a compile error", .enabled(if: compiled))
    func failures() throws {
        let dev = try device()
        let t = try dev.makeTensor([4], dtype: .float32)
        // The stand-in runs no layer-norm kernel: the launch fails, the next sync throws it, it sticks.
        let x = try dev.makeTensor([2, 4], dtype: .float32)
        dev.layerNormForward(
            x: x, gamma: t, beta: t, out: try dev.makeTensor([2, 4], dtype: .float32),
            mean: try dev.makeTensor([2], dtype: .float32), rstd: try dev.makeTensor([2], dtype: .float32), eps: 1e-5)
        do {
            try dev.synchronize()
            Issue.record("a failed launch went unreported")
        } catch {
            #expect("\(error)".contains("cuLaunchKernel(layernorm.layernorm_forward"), "\(error)")
        }
        #expect(throws: (any Error).self) { try dev.download(t) }

        // Argument counts come from the kernel source here (the stand-in has no cuFuncGetParamInfo).
        let fresh = try device()
        let u = try fresh.makeTensor([4], dtype: .float32)
        fresh.perform { try fresh.launch(.elementwise, "fill", global: 4, [.mem(try fresh.mem(u, "fill")), .i(4)]) }
        #expect(throws: KernelSignatureError.self) { try fresh.synchronize() }

        let lib = try #require(FakeCUDA.library)
        let nvrtc = try NVRTCAPI(try CUDALibraries.open(CUDALibraries.nvrtc, environment: ["POYO_LIBNVRTC": lib]))
        do {
            _ = try CUDACompiler.cubin(
                nvrtc, source: "FAKE_COMPILE_ERROR", name: "geglu.cl",
                options: CUDACompiler.options(.geglu, architecture: "sm_90"))
            Issue.record("the compile error went unreported")
        } catch CUDAError.compile(let program, let log) {
            #expect(program.hasPrefix("geglu.cl (--gpu-architecture=sm_90 -DWG=128") && log.contains("geglu.cl(1)"))
        }
    }

    /// Drivers from CUDA 12.4 on say how many parameters a kernel takes: that count is used.
    @Test("argument counts from cuFuncGetParamInfo where the driver has it", .enabled(if: compiled))
    func parameterInfo() throws {
        let dev = try device(library: FakeCUDA.libraryWithParamInfo)
        #expect(dev.stream.driver.cuFuncGetParamInfo != nil)
        let t = try dev.upload([Float](repeating: 1, count: 5), shape: [5])
        dev.scale(t, by: 3)
        dev.fill(t, 2)
        dev.scale(t, by: 3)
        #expect(try dev.download(t) == [Float](repeating: 6, count: 5))
        #expect(try dev.stream.function(.elementwise, "dropout").arguments == 5)
        // The counts really came from the driver: it answered index by index (fill 3, scale 3, dropout 5).
        let answers = try CUDALibraries.symbol(
            dev.stream.driver.library, "fake_cuda_param_info_answers", as: (@convention(c) () -> Int32).self)
        #expect(answers() >= 11, "cuFuncGetParamInfo answered \(answers()) times")
        dev.perform { try dev.launch(.elementwise, "axpy", global: 4, [.float(1), .mem(try dev.mem(t, "axpy"))]) }
        do {
            try dev.synchronize()
            Issue.record("a launch with 2 of axpy's 4 arguments went through")
        } catch let e as KernelSignatureError {
            #expect(e.expected == 4 && e.given == 2, "\(e)")
        }
    }

    @Test("the memory pool: a repeated op sequence creates no new blocks", .enabled(if: compiled))
    func pool() throws {
        let dev = try device()
        func step() throws {
            let a = try dev.makeTensor([300, 7], dtype: .float32)
            let b = try dev.upload([Float](repeating: 1, count: 2100), shape: [300, 7])
            dev.axpy(2, b, a)
            _ = try dev.download(a)
        }
        try step()
        let created = dev.buffersCreated
        for _ in 0..<3 { try step() }
        #expect(dev.buffersCreated == created)
    }
}
