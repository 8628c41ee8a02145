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

/// A batch being tokenised on a background thread, and the sampler position after its windows.
final class PrefetchedBatch: @unchecked Sendable {
    let position: SamplerPosition
    private var result: Result<Batch, Error>?
    private let done = DispatchSemaphore(value: 0)

    init(requests: [WindowRequest], tokenizer: Tokenizer, position: SamplerPosition) {
        self.position = position
        DispatchQueue.global(qos: .userInitiated).async {
            // Written before the signal, read after the wait: the semaphore orders the two.
            self.result = Result { try tokenizer.batch(requests) }
            self.done.signal()
        }
    }

    /// The batch (or the tokeniser's error), once the background work is done.
    func batch() throws -> Batch {
        done.wait()
        done.signal()
        return try result!.get()
    }
}
