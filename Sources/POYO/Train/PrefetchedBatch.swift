import Dispatch
import POYOData

/// Where the training sampler stands: the current epoch's windows, the next one's index, the
/// number of epochs started, and the unit-dropout generator.
struct SamplerPosition {
    var epochWindows: [SampledWindow] = []
    var cursor = 0
    var epoch = 0
    var unitDropoutRNG: SeededRNG
}

/// A step's micro-batches being tokenised on a background thread, and the sampler position after
/// their windows.
final class PrefetchedBatch: @unchecked Sendable {
    let position: SamplerPosition
    private var result: Result<[Batch], Error>?
    private let done = DispatchSemaphore(value: 0)

    /// `parts`: the requests of each micro-batch this process runs, in order.
    init(parts: [[WindowRequest]], tokenizer: Tokenizer, position: SamplerPosition) {
        self.position = position
        DispatchQueue.global(qos: .userInitiated).async {
            // Written before the signal, read after the wait: the semaphore orders the two.
            self.result = Result { try parts.map { try tokenizer.batch($0) } }
            self.done.signal()
        }
    }

    /// The batches (or the tokeniser's error), once the background work is done.
    func batches() throws -> [Batch] {
        done.wait()
        done.signal()
        return try result!.get()
    }
}
