import Foundation

/// Weighted MSE, forward and backward: `loss.cl` (CPU: CPULoss.swift).
extension KernelDevice {
    public func weightedMSEForward(pred: Tensor, target: Tensor, weights: Tensor, loss: Tensor) {
        let rows = weights.count
        let d = pred.count / max(rows, 1)
        let groups = Self.reductionGroups(rows)
        perform {
            let partial = try scratch(groups * 2 * 8)  // [groups, 2] acc_t
            try launch(
                .loss, "mse_partial", global: groups * Self.groupSize,
                [
                    .mem(try mem(pred, "weightedMSE")), .mem(try mem(target, "weightedMSE")),
                    .mem(try mem(weights, "weightedMSE")), .i(rows), .i(d), .flag(true), .mem(partial.memory),
                ])
            try launch(
                .loss, "mse_loss_final", global: Self.groupSize,
                [.mem(partial.memory), .i(groups), .mem(try mem(loss, "weightedMSE"))])
        }
    }

    /// Σw is reduced on the device into a coefficient 2 / (d·Σw) that the gradient kernel reads.
    public func weightedMSEBackward(pred: Tensor, target: Tensor, weights: Tensor, dPred: Tensor) {
        let rows = weights.count
        let d = pred.count / max(rows, 1)
        let groups = Self.reductionGroups(rows)
        perform {
            let p = try mem(pred, "weightedMSEBackward")
            let t = try mem(target, "weightedMSEBackward")
            let w = try mem(weights, "weightedMSEBackward")
            let partial = try scratch(groups * 2 * 8)
            let coef = try scratch(4)
            try launch(
                .loss, "mse_partial", global: groups * Self.groupSize,
                [.mem(p), .mem(t), .mem(w), .i(rows), .i(d), .flag(false), .mem(partial.memory)])
            try launch(
                .loss, "mse_grad_coef", global: Self.groupSize,
                [.mem(partial.memory), .i(groups), .i(d), .mem(coef.memory)])
            try launch(
                .loss, "mse_backward", global: rows * d,
                [
                    .mem(p), .mem(t), .mem(w), .mem(coef.memory), .mem(try mem(dPred, "weightedMSEBackward")), .i(rows),
                    .i(d),
                ])
        }
    }
}
