import Foundation

/// GEGLU, forward and backward: `geglu.cl` (CPU: CPUGEGLU.swift).
extension KernelDevice {
    public func gegluForward(h: Tensor, out: Tensor) {
        let f = out.columns
        let rows = out.count / max(f, 1)
        perform {
            try launch(
                .geglu, "geglu_forward", global: rows * f,
                [.mem(try mem(h, "gegluForward")), .mem(try mem(out, "gegluForward")), .i(rows), .i(f)])
        }
    }

    public func gegluBackward(dOut: Tensor, h: Tensor, dH: Tensor) {
        let f = dOut.columns
        let rows = dOut.count / max(f, 1)
        perform {
            try launch(
                .geglu, "geglu_backward", global: rows * f,
                [
                    .mem(try mem(dOut, "gegluBackward")), .mem(try mem(h, "gegluBackward")),
                    .mem(try mem(dH, "gegluBackward")), .i(rows), .i(f),
                ])
        }
    }
}
