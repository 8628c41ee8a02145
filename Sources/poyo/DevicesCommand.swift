import ArgumentParser
import Compute
import Foundation

struct Devices: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the compute devices: the CPU backend, CUDA devices, and every OpenCL platform and device.",
        discussion:
            "`--device cuda:N` / `--device opencl:N` pick device N of these lists; `--device auto` takes the first "
            + "CUDA GPU, else the first OpenCL GPU, else the CPU.")

    @Flag(help: "Print the list as JSON.") var json = false

    func run() throws {
        try runReportingErrors {
            let cpu = CPUDevice()
            var clDevices: [OpenCLDeviceInfo] = []
            var problem: String?
            do { clDevices = try OpenCLDevice.availableDevices() } catch { problem = "\(error)" }
            var cudaDevices: [CUDADeviceInfo] = []
            var cudaProblem: String?
            do { cudaDevices = try CUDADevice.availableDevices() } catch { cudaProblem = "\(error)" }
            if json {
                let list: [[String: Any]] = clDevices.map {
                    [
                        "index": $0.index, "platform": $0.platformName, "platform_version": $0.platformVersion,
                        "name": $0.name,
                        "vendor": $0.vendor, "type": $0.type, "compute_units": $0.computeUnits,
                        "global_memory_bytes": $0.globalMemoryBytes, "max_allocation_bytes": $0.maxAllocationBytes,
                        "opencl_version": $0.openCLVersion, "driver_version": $0.driverVersion, "fp64": $0.hasFloat64,
                    ]
                }
                let cuda: [[String: Any]] = cudaDevices.map {
                    [
                        "index": $0.index, "name": $0.name, "architecture": $0.architecture,
                        "multiprocessors": $0.multiprocessors, "memory_bytes": $0.memoryBytes,
                        "driver_cuda_version": $0.driverVersion,
                    ]
                }
                var obj: [String: Any] = ["cpu": cpu.name, "opencl": list, "cuda": cuda]
                if !cudaDevices.isEmpty {
                    for lib in CUDADevice.libraries() {
                        obj["cuda_\(lib.name)"] = lib.found ?? "unavailable: \(lib.problem ?? "?")"
                    }
                }
                if let problem { obj["opencl_error"] = problem }
                if let cudaProblem { obj["cuda_error"] = cudaProblem }
                try printJSON(obj)
                return
            }
            print("cpu        \(cpu.name)")
            if let cudaProblem { print("cuda       unavailable: \(cudaProblem)") }
            if cudaDevices.isEmpty && cudaProblem == nil { print("cuda       the driver reports no device") }
            for d in cudaDevices {
                let mem = String(format: "%.1f GiB", Double(d.memoryBytes) / 1_073_741_824)
                let v = "\(d.driverVersion / 1000).\(d.driverVersion % 1000 / 10)"
                print(
                    "cuda:\(d.index)     \(d.name) | \(d.architecture) | \(d.multiprocessors) SMs | \(mem) | CUDA \(v)")
            }
            // A driver is not enough: the kernels need NVRTC and the matrix products cuBLAS.
            if !cudaDevices.isEmpty {
                for lib in CUDADevice.libraries() {
                    let name = lib.name.padding(toLength: 11, withPad: " ", startingAt: 0)
                    print("\(name)\(lib.found ?? "unavailable: \(lib.problem ?? "?")")")
                }
            }
            if let problem { print("opencl     unavailable: \(problem)") }
            if clDevices.isEmpty && problem == nil { print("opencl     no platforms found") }
            var lastPlatform = ""
            for d in clDevices {
                if d.platformName != lastPlatform {
                    print("platform   \(d.platformName) (\(d.platformVersion))")
                    lastPlatform = d.platformName
                }
                let mem = String(format: "%.1f GiB", Double(d.globalMemoryBytes) / 1_073_741_824)
                print(
                    "opencl:\(d.index)   \(d.name) | \(d.type) | \(d.computeUnits) compute units | \(mem) | "
                        + "\(d.openCLVersion) | driver \(d.driverVersion)"
                )
            }
        }
    }
}
