import Testing

@testable import POYOData

@Suite struct TokenizerTests {
    func tokenizer(_ r: Recording, latentsPerStep: Int = 2, step: Double = 0.25) throws -> Tokenizer {
        let dataset = try Dataset(recordings: [r])
        return try Tokenizer(
            recordings: [r], unitVocabulary: dataset.unitVocabulary,
            sessionVocabulary: dataset.sessionVocabulary,
            config: TokenizerConfig(sequenceLength: 1.0, latentStep: step, numLatentsPerStep: latentsPerStep))
    }

    func close(_ a: [Double], _ b: [Double]) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { abs($0 - $1) < 1e-12 }
    }

    @Test func tokensFollowTheReferenceOrder() throws {
        var r = tinyRecording()
        r.lossWeights.append(WeightedIntervals(name: "extra", intervals: Intervals([Interval(1.0, 2.0)]), weight: 2))
        r.behaviour[2 * 7] = .nan
        let tok = try tokenizer(r)
        let b = try tok.batch(
            [
                WindowRequest(recording: 0, start: 0.5),
                WindowRequest(recording: 0, start: 0.0, keptUnits: [0, 2]),
            ], evalKeys: true)
        #expect(b.windowCount == 2)
        // Window 0: START/END for units a, b, c (rows 1, 2, 3), then spikes at 0.7 (a) and 1.0 (b).
        // Window 1 keeps a and c: their START/END, then spikes 0.05 (a), 0.2 (c), 0.7 (a); b's 0.2 dropped.
        #expect(b.inputOffsets == [0, 8, 15])
        #expect(b.inputUnitIndex == [1, 1, 2, 2, 3, 3, 1, 2, /**/ 1, 1, 3, 3, 1, 3, 1])
        #expect(b.inputTokenType == [1, 2, 1, 2, 1, 2, 0, 0, /**/ 1, 2, 1, 2, 0, 0, 0])
        #expect(close(b.inputTimestamps, [0, 1, 0, 1, 0, 1, 0.2, 0.5, /**/ 0, 1, 0, 1, 0.05, 0.2, 0.7]))
        #expect(b.sessionIndex == [1, 1])

        // Latents: 4 steps of 0.25 s, 2 per step, time-major.
        #expect(b.latentIndex == [0, 1, 0, 1, 0, 1, 0, 1])
        #expect(b.latentTimestamps == [0.125, 0.125, 0.375, 0.375, 0.625, 0.625, 0.875, 0.875])

        // Outputs: samples 5..<15 then 0..<10 (10 Hz behaviour).
        #expect(b.outputOffsets == [0, 10, 20])
        let samples = Array(5..<15) + Array(0..<10)
        let expectedTimes: [Double] = samples.enumerated().map { n, i in Double(i) / 10 - (n < 10 ? 0.5 : 0) }
        #expect(close(b.outputTimestamps, expectedTimes))
        // Targets ((v − mean) / std) = ((i − 1)/2, −i/4); sample 7 is NaN → 0 with weight 0.
        for (n, i) in samples.enumerated() {
            let expected: [Float] = i == 7 ? [0, 0] : [Float(i - 1) / 2, -Float(i) / 4]
            #expect(Array(b.targets[(2 * n)..<(2 * n + 2)]) == expected)
        }
        // Weights: hold [0, 0.5) 0.1, reach [0.5, 1.5) 5, extra [1, 2) 2 → product.
        let w: [Float] = samples.map { i in
            if i == 7 { return 0 }
            var w: Float = 1
            if i < 5 { w *= 0.1 }
            if i >= 5 && i < 15 { w *= 5 }
            if i >= 10 && i < 20 { w *= 2 }
            return w
        }
        #expect(b.weights == w)
        #expect(b.evalKeys.map(\.sample) == samples.map { Int32($0) })
        // Scored: reach samples, except the missing (NaN) sample 7.
        #expect(b.evalKeys.map(\.scored) == samples.map { $0 >= 5 && $0 < 15 && $0 != 7 })
        #expect(b.outputWindow == [Int32](repeating: 0, count: 10) + [Int32](repeating: 1, count: 10))
    }

    @Test func defaultLatentGridMatchesPOYO() throws {
        let tok = try tokenizer(tinyRecording(), latentsPerStep: 16, step: 0.125)
        #expect(tok.latentIndex.count == 128)
        #expect(tok.latentTimestamps.first == 0.0625 && tok.latentTimestamps.last == 0.9375)
    }

    @Test func trainingBatchesHaveNoEvalKeysAndWindowsPastTheEndAreEmpty() throws {
        let tok = try tokenizer(tinyRecording())
        let b = try tok.batch([WindowRequest(recording: 0, start: 3.5)])
        #expect(b.evalKeys.isEmpty)
        #expect(b.outputCount == 5)  // samples 3.5 ..< 4.0
        #expect(b.inputCount == 6 + 1)  // 3 START/END pairs + the spike at 3.9
    }

    @Test func unknownUnitsAndBadRequestsThrow() throws {
        let r = tinyRecording()
        let other = try Dataset(recordings: [tinyRecording(session: "other")])
        let sessions = try Vocabulary(words: ["tiny"])
        #expect(throws: TokenizerError.unknownUnit(session: "tiny", unit: "tiny/a")) {
            try Tokenizer(recordings: [r], unitVocabulary: other.unitVocabulary, sessionVocabulary: sessions)
        }
        let tok = try tokenizer(r)
        #expect(throws: TokenizerError.self) { try tok.batch([WindowRequest(recording: 1, start: 0)]) }
        #expect(throws: TokenizerError.self) { try tok.batch([WindowRequest(recording: 0, start: 0, keptUnits: [3])]) }
    }
}

@Suite struct ZeroWeightScoringTests {
    /// A scored sample with loss weight 0 keeps its real (normalised) target: evaluation scores it
    /// against that value, and only the loss ignores it.
    @Test func zeroWeightSamplesAreScoredAgainstTheirRealValues() throws {
        var r = tinyRecording()
        let zero = Intervals([Interval(0.0, 10.0)])
        r.lossWeights = [WeightedIntervals(name: "outliers", intervals: zero, weight: 0)]
        r.evalIntervals = nil  // every sample scored
        let dataset = try Dataset(recordings: [r])
        let tok = try Tokenizer(
            recordings: [r], unitVocabulary: dataset.unitVocabulary, sessionVocabulary: dataset.sessionVocabulary,
            config: TokenizerConfig(sequenceLength: 1.0, latentStep: 0.25, numLatentsPerStep: 2))
        let b = try tok.batch([WindowRequest(recording: 0, start: 0)], evalKeys: true)
        #expect(b.outputCount > 0)
        #expect(b.weights.allSatisfy { $0 == 0 })
        #expect(b.evalKeys.allSatisfy { $0.scored })
        for (n, key) in b.evalKeys.enumerated() {
            for k in 0..<r.behaviourDim {
                let raw = r.behaviour[Int(key.sample) * r.behaviourDim + k]
                let expected = (raw - r.normalizationMean[k]) / r.normalizationStd[k]
                #expect(b.targets[n * r.behaviourDim + k] == expected, "sample \(key.sample) dim \(k)")
            }
        }
        #expect(b.targets.contains { $0 != 0 }, "the fixture's targets must not all be zero")
    }
}
