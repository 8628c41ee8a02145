import Foundation

/// AdamW and LAMB: `optim.cl` (CPU: CPUOptim.swift). Hyper-parameters go down as kernel arguments;
/// nothing comes back.
extension KernelDevice {
    public func adamWStep(param: Tensor, grad: Tensor, m: Tensor, v: Tensor, _ hp: AdamWParams) {
        // The same Float constants CPUDevice derives.
        let bc1 = 1 - Float(pow(Double(hp.beta1), Double(hp.step)))
        let bc2sqrt = Float((1 - pow(Double(hp.beta2), Double(hp.step))).squareRoot())
        let n = param.count
        perform {
            try launch(
                .optim, "adamw_step", global: n,
                [
                    .mem(try mem(param, "adamW")), .mem(try mem(grad, "adamW")), .mem(try mem(m, "adamW")),
                    .mem(try mem(v, "adamW")), .i(n), .float(hp.beta1), .float(hp.beta2), .float(hp.eps),
                    .float(hp.lr / bc1), .float(1 - hp.lr * hp.weightDecay), .float(bc2sqrt),
                ])
        }
    }

    /// Moments and s (written into the grad buffer, as CPUDevice does) with partial norms; the trust
    /// ratio into a one-float scratch; then the update reads it. Sparse rows first flag touched rows.
    public func lambStep(param: Tensor, grad: Tensor, m: Tensor, v: Tensor, sparseRows: Bool, _ hp: LAMBParams) {
        // A row range narrows every buffer to those rows (the kernels offset their pointers by `base`).
        let span = LAMBSpan(param, hp.rows)
        let n = span.count
        guard n > 0 else { return }
        let base = span.base
        let width = sparseRows ? max(param.columns, 1) : max(n, 1)
        let rows = n / width
        let groups = Self.reductionGroups(n)
        perform {
            let w = try mem(param, "lamb")
            let g = try mem(grad, "lamb")
            var touched: DeviceStorage?  // [rows] int, sparse rows only
            if sparseRows {
                let t = try scratch(rows * 4)
                touched = t
                try launch(
                    .optim, "lamb_rows_touched", global: rows, [.mem(g), .mem(t.memory), .i(rows), .i(width), .i(base)])
            }
            let partial = try scratch(groups * 2 * 8)
            let step = try scratch(4)  // [groups, 2] acc_t; [1]
            try launch(
                .optim, "lamb_moments", global: groups * Self.groupSize,
                [
                    .mem(w), .mem(g), .mem(try mem(m, "lamb")), .mem(try mem(v, "lamb")), .mem(touched?.memory),
                    .flag(sparseRows), .i(n), .i(width), .float(hp.beta1), .float(hp.beta2), .float(hp.eps),
                    .float(hp.weightDecay), .mem(partial.memory), .i(base),
                ])
            try launch(
                .optim, "lamb_ratio", global: Self.groupSize,
                [.mem(partial.memory), .i(groups), .float(hp.lr), .float(hp.maxWeightNorm), .mem(step.memory)])
            try launch(
                .optim, "lamb_update", global: n,
                [
                    .mem(w), .mem(g), .mem(touched?.memory), .flag(sparseRows), .i(n), .i(width), .mem(step.memory),
                    .i(base),
                ])
        }
    }
}
