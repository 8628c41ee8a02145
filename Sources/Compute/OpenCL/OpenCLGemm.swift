import _CCLBlast
import _COpenCL

/// Matrix products on OpenCL: CLBlast in row-major layout (GPUGemm.swift calls it; k > 0).
extension OpenCLQueue {
    func sgemm(
        transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
        a: DeviceMemory, aOffset: Int, lda: Int, b: DeviceMemory, bOffset: Int, ldb: Int,
        beta: Float, c: DeviceMemory, cOffset: Int, ldc: Int
    ) throws {
        var q: cl_command_queue? = queue
        var event: cl_event?
        let st = CLBlastSgemm(
            CLBlastLayoutRowMajor, transA ? CLBlastTransposeYes : CLBlastTransposeNo,
            transB ? CLBlastTransposeYes : CLBlastTransposeNo, m, n, k, alpha,
            Self.mem(a), aOffset, lda, Self.mem(b), bOffset, ldb, beta, Self.mem(c), cOffset, ldc, &q, &event)
        guard st.rawValue == CLBlastSuccess.rawValue else {
            throw CLBlastError(
                call: "CLBlastSgemm(m \(m), n \(n), k \(k), lda \(lda), ldb \(ldb), ldc \(ldc))", status: st.rawValue)
        }
        if let event {
            if profiling != nil { profiling?.append(("gemm", event)) } else { clReleaseEvent(event) }
        }
    }
}
