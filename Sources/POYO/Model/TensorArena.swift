import Compute

/// Scratch tensors handed out again, in the same order, on every run of one fixed graph: the
/// streaming decoder's update (issue 23) asks for the same shapes in the same order each time, so
/// after the first update `Blocks` gets back the tensors it had, instead of making new ones (a
/// tensor object and a pool lookup each: hundreds of host allocations per update).
///
/// Tensors from the previous run are overwritten by the next one: only a caller that reads its
/// results before the next `reset()` may use an arena. Contents are not zeroed on reuse, so every
/// op that writes an arena tensor must overwrite it whole (as `forward`'s ops do).
final class TensorArena {
    private let dev: Device
    private var slots: [Tensor] = []
    private var next = 0

    init(device: Device) { dev = device }

    /// Tensors the arena holds (for tests: it stops growing after the first run).
    var count: Int { slots.count }

    /// Starts a run: tensors are handed out again from the first.
    func reset() { next = 0 }

    /// The next tensor, `[rows, cols]` (or `[rows]` when `cols` is nil), float32.
    func take(_ rows: Int, _ cols: Int?) throws -> Tensor {
        defer { next += 1 }
        if next < slots.count {
            let t = slots[next]
            let fits =
                cols.map { t.shape.count == 2 && t.shape[0] == rows && t.shape[1] == $0 }
                ?? (t.shape.count == 1 && t.shape[0] == rows)
            if fits { return t }
        }
        let shape = cols.map { [rows, $0] } ?? [rows]
        let t = try dev.makeTensor(shape, dtype: .float32)
        if next < slots.count { slots[next] = t } else { slots.append(t) }
        return t
    }
}
