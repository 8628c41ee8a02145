// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "poyo-swift",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "poyo", targets: ["poyo"]),
        .executable(name: "poyo-bench", targets: ["poyo-bench"]),
        .executable(name: "poyo-fuzz", targets: ["poyo-fuzz"]),
        .library(name: "POYO", targets: ["POYO"]),
        // The streaming decoder as a C library (include/poyo_stream.h; docs/streaming.md).
        .library(name: "POYOStream", type: .dynamic, targets: ["POYOStream"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.1"),
    ],
    targets: [
        // System-library shims: module maps plus inline accessors for C macros. Nothing else.
        .systemLibrary(
            name: "_CBLAS", path: "Sources/_CBLAS", pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(
            name: "_CHDF5", path: "Sources/_CHDF5", pkgConfig: "hdf5",
            providers: [.apt(["libhdf5-dev"])]),
        .systemLibrary(
            name: "_COpenCL", path: "Sources/_COpenCL", pkgConfig: "OpenCL",
            providers: [.apt(["ocl-icd-opencl-dev", "opencl-headers"])]),
        .systemLibrary(
            name: "_CCLBlast", path: "Sources/_CCLBlast", pkgConfig: "clblast",
            providers: [.apt(["libclblast-dev"])]),

        // Tensors, the Device protocol and its backends. Knows nothing of POYO.
        // OpenCL C sources, shipped as resources and compiled at run time.
        .target(name: "POYOKernels", path: "Kernels", exclude: ["README.md"], resources: [.copy("cl")]),
        // The CPU backend's vectorised hot loops (GEMM, exp, the dropout hash, softmax rows), in C.
        // Always optimised: debug builds and the tests would otherwise run the GEMM at -O0.
        .target(name: "CPUKernels", path: "Sources/CPUKernels", cSettings: [.unsafeFlags(["-O2"])]),
        // MPI opened at run time (Open MPI's or MPICH's ABI), for data-parallel training.
        .target(name: "MPIShim", path: "Sources/MPIShim", linkerSettings: [.linkedLibrary("dl")]),
        // NCCL opened at run time, for gradient exchange between GPUs.
        .target(name: "NCCLShim", path: "Sources/NCCLShim", linkerSettings: [.linkedLibrary("dl")]),
        .target(
            name: "Compute",
            dependencies: ["_CBLAS", "_COpenCL", "_CCLBlast", "POYOKernels", "CPUKernels", "NCCLShim"]),
        // Recordings, readers/writers, synthetic data, sampling, tokenization. Host-only.
        .target(name: "POYOData", dependencies: ["_CHDF5"]),
        // Data-parallel jobs: the processes' collective operations, over MPI opened at run time.
        .target(name: "DataParallel", dependencies: ["MPIShim"], path: "Sources/DataParallel"),
        // The model graph, optimizers, trainer, evaluator, checkpoints.
        .target(
            name: "POYO",
            dependencies: ["Compute", "POYOData", "DataParallel", .product(name: "Yams", package: "Yams")]),
        .target(name: "POYOStream", dependencies: ["POYO", "Compute"], path: "Sources/POYOStream"),
        .executableTarget(
            name: "poyo",
            dependencies: [
                "POYO", "DataParallel", .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),
        .executableTarget(
            name: "poyo-bench",
            dependencies: [
                "POYO", "DataParallel", "AllocationCounter",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ], path: "Tools/PoyoBench"),
        // Counts each thread's heap allocations by interposing malloc & co.: linked only into the
        // test bundle and poyo-bench, which check that a streaming update allocates nothing.
        .target(name: "AllocationCounter", path: "Tools/AllocationCounter"),
        // The fuzz targets: libFuzzer's entry under `ci/fuzz.sh` (-DFUZZING), a corpus replayer otherwise.
        .executableTarget(name: "poyo-fuzz", dependencies: ["POYO", "POYOData"], path: "Tools/Fuzz"),

        .target(
            name: "TestSupport", dependencies: ["Compute", "POYO", "DataParallel", "AllocationCounter"],
            path: "Tests/TestSupport"),
        .testTarget(name: "ComputeTests", dependencies: ["Compute", "TestSupport"]),
        .testTarget(name: "DataTests", dependencies: ["POYOData", "TestSupport"]),
        .testTarget(name: "POYOTests", dependencies: ["POYO", "DataParallel", "TestSupport", "AllocationCounter"]),
        .testTarget(name: "CLITests", dependencies: ["poyo", "TestSupport"]),
    ],
    swiftLanguageModes: [.v5]
)
