import Foundation

/// `(0..<n).map(body)` on `workers` threads of their own (not Dispatch's pool, which runs at most
/// one job per core: these jobs mostly wait for reader children and disks). Results come in index
/// order. When jobs fail, the lowest failing index's error is thrown, and no index after it is
/// started; jobs already running finish first.
enum ParallelMap {
    static func run<T>(_ n: Int, workers: Int, _ body: @escaping (Int) throws -> T) throws -> [T] {
        guard n > 0 else { return [] }
        let state = State<T>(count: n)
        let group = DispatchGroup()
        for _ in 0..<max(1, min(workers, n)) {
            group.enter()
            let thread = Thread {
                defer { group.leave() }
                while let i = state.nextIndex() { state.finish(i, Result { try body(i) }) }
            }
            thread.stackSize = 8 << 20
            thread.start()
        }
        group.wait()
        return try state.results()
    }

    private final class State<T>: @unchecked Sendable {
        private let lock = NSLock()
        private var next = 0
        private var stopAt: Int  // no index at or after this is started (after a failure)
        private var slots: [Result<T, Error>?]

        init(count: Int) {
            stopAt = count
            slots = Array(repeating: nil, count: count)
        }

        func nextIndex() -> Int? {
            lock.lock()
            defer { lock.unlock() }
            guard next < stopAt else { return nil }
            next += 1
            return next - 1
        }

        func finish(_ i: Int, _ r: Result<T, Error>) {
            lock.lock()
            defer { lock.unlock() }
            slots[i] = r
            if case .failure = r { stopAt = min(stopAt, i + 1) }
        }

        /// Every result in order, or the first failure in that order. Indices are handed out in
        /// order, so every slot before a failure is filled.
        func results() throws -> [T] {
            lock.lock()
            defer { lock.unlock() }
            var out: [T] = []
            out.reserveCapacity(slots.count)
            for slot in slots {
                guard let slot else { break }
                out.append(try slot.get())
            }
            return out
        }
    }
}
