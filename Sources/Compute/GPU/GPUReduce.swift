import Foundation

/// Sums of squares (gradient norms): `reduce.cl`.
extension KernelDevice {
    public func sumOfSquares(_ x: Tensor, into out: Tensor, accumulate: Bool) {
        let groups = Self.reductionGroups(x.count)
        perform {
            let partial = try scratch(groups * 8)  // [groups] acc_t (8 bytes covers float64)
            try launch(
                .reduce, "sum_squares_partial", global: groups * Self.groupSize,
                [.mem(try mem(x, "sumOfSquares")), .i(x.count), .mem(partial.memory)])
            try launch(
                .reduce, "sum_squares_final", global: Self.groupSize,
                [.mem(partial.memory), .i(groups), .mem(try mem(out, "sumOfSquares")), .flag(accumulate)])
        }
    }
}
