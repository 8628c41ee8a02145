import Foundation

/// Splits `0..<n` into contiguous chunks run on all cores. The chunking depends only on `n`,
/// `grain` and the worker count, so reductions that combine per-chunk partials in chunk order
/// are reproducible run to run on one machine.
struct ParallelRunner: Sendable {
    let workers: Int

    func chunks(_ n: Int, grain: Int) -> Int {
        guard n > 0 else { return 0 }
        return max(1, min(workers, (n + grain - 1) / max(grain, 1)))
    }

    /// Runs `body(range)` over `chunks(n, grain)` contiguous ranges; `body` also gets the chunk index.
    func run(_ n: Int, grain: Int, _ body: (Int, Range<Int>) -> Void) {
        let c = chunks(n, grain: grain)
        if c == 0 { return }
        if c == 1 {
            body(0, 0..<n)
            return
        }
        DispatchQueue.concurrentPerform(iterations: c) { i in
            body(i, (n * i / c)..<(n * (i + 1) / c))
        }
    }

    /// Runs `body(i)` for every task index, spread over the workers (for a few coarse tasks).
    func tasks(_ n: Int, _ body: (Int) -> Void) {
        if n <= 1 || workers == 1 {
            for i in 0..<n { body(i) }
            return
        }
        DispatchQueue.concurrentPerform(iterations: n) { i in body(i) }
    }
}
