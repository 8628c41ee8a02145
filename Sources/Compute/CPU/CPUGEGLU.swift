import CPUKernels
import Foundation

/// GEGLU on the host: rows split over the workers, each range in CPUKernels (`cpu_geglu.c`).
extension CPUDevice {
    public func gegluForward(h: Tensor, out: Tensor) {
        let hp = f(h)
        let op = f(out)
        let width = out.columns
        let rows = out.count / max(width, 1)
        pool.run(rows, grain: 32) { _, r in
            poyo_geglu_forward(hp + r.lowerBound * 2 * width, op + r.lowerBound * width, r.count, width)
        }
    }

    public func gegluBackward(dOut: Tensor, h: Tensor, dH: Tensor) {
        let gop = f(dOut)
        let hp = f(h)
        let dhp = f(dH)
        let width = dOut.columns
        let rows = dOut.count / max(width, 1)
        pool.run(rows, grain: 32) { _, r in
            poyo_geglu_backward(
                gop + r.lowerBound * width, hp + r.lowerBound * 2 * width, dhp + r.lowerBound * 2 * width, r.count,
                width)
        }
    }
}
