/// A packed batch of 1 s windows: the tokens of all windows concatenated, with per-window offsets.
///
/// This is the contract between the data path (tokenizer) and the model. Nothing is padded: window
/// `b` owns inputs `inputOffsets[b] ..< inputOffsets[b+1]` and outputs
/// `outputOffsets[b] ..< outputOffsets[b+1]`. Times are window-relative seconds in Float64; the model
/// forms rotary angles from them in Float64 (docs/spec.md §3.2).
public struct Batch: Sendable {
    /// B, the number of windows.
    public var windowCount: Int

    /// `[N_in]` row of `unit_emb` (global unit vocabulary index) for each input token.
    public var inputUnitIndex: [Int32]
    /// `[N_in]` 0 = spike, 1 = unit START, 2 = unit END.
    public var inputTokenType: [Int32]
    /// `[N_in]` token time within its window (START = 0, END = sequence_length).
    public var inputTimestamps: [Double]
    /// `[B+1]` prefix offsets of each window's input tokens.
    public var inputOffsets: [Int32]

    /// `[N_lat]` latent ids (rows of `latent_emb`) of one window; every window uses the same set.
    public var latentIndex: [Int32]
    /// `[N_lat]` latent times of one window.
    public var latentTimestamps: [Double]

    /// `[N_out]` query time within its window.
    public var outputTimestamps: [Double]
    /// `[B+1]` prefix offsets of each window's output queries.
    public var outputOffsets: [Int32]
    /// `[B]` row of `session_emb` for each window.
    public var sessionIndex: [Int32]

    /// `[N_out, dimOut]` normalised regression targets (0 where not finite).
    public var targets: [Float]
    /// `[N_out]` loss weight per query (0 where the target is not finite).
    public var weights: [Float]
    /// Output dimension of `targets` (2 for velocity).
    public var dimOut: Int

    /// Optional evaluation bookkeeping, one entry per output query (`[N_out]`), empty for training.
    public var evalKeys: [EvalKey]

    public init(
        windowCount: Int, inputUnitIndex: [Int32], inputTokenType: [Int32], inputTimestamps: [Double],
        inputOffsets: [Int32], latentIndex: [Int32], latentTimestamps: [Double],
        outputTimestamps: [Double], outputOffsets: [Int32], sessionIndex: [Int32],
        targets: [Float], weights: [Float], dimOut: Int, evalKeys: [EvalKey] = []
    ) {
        self.windowCount = windowCount
        self.inputUnitIndex = inputUnitIndex
        self.inputTokenType = inputTokenType
        self.inputTimestamps = inputTimestamps
        self.inputOffsets = inputOffsets
        self.latentIndex = latentIndex
        self.latentTimestamps = latentTimestamps
        self.outputTimestamps = outputTimestamps
        self.outputOffsets = outputOffsets
        self.sessionIndex = sessionIndex
        self.targets = targets
        self.weights = weights
        self.dimOut = dimOut
        self.evalKeys = evalKeys
    }

    public var inputCount: Int { inputUnitIndex.count }
    public var outputCount: Int { outputTimestamps.count }
    public var latentsPerWindow: Int { latentIndex.count }

    /// `[N_out]` window index of each output query.
    public var outputWindow: [Int32] {
        var w = [Int32](repeating: 0, count: outputCount)
        for b in 0..<windowCount {
            for i in Int(outputOffsets[b])..<Int(outputOffsets[b + 1]) { w[i] = Int32(b) }
        }
        return w
    }
}

/// Identifies an output query for stitching: overlapping evaluation windows predict the same
/// behaviour sample, and predictions sharing a key are averaged (docs/spec.md §5).
public struct EvalKey: Hashable, Sendable {
    /// Index of the recording in the evaluated dataset.
    public var recording: Int32
    /// Index of the behaviour sample within that recording (exact; no float matching needed).
    public var sample: Int32
    /// Whether this sample counts toward the metric (eval mask, e.g. reach period).
    public var scored: Bool

    public init(recording: Int32, sample: Int32, scored: Bool) {
        self.recording = recording
        self.sample = sample
        self.scored = scored
    }
}
