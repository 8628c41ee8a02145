import Foundation
import TestSupport

@testable import POYOData

/// A small synthetic configuration that generates quickly in debug builds.
func smallSyntheticConfig(trials: Int = 12) -> SyntheticConfig {
    var c = SyntheticConfig()
    c.trialsPerSession = trials
    return c
}

/// A hand-made recording: 3 units, a few spikes, behaviour at 10 Hz over [0, 4).
func tinyRecording(session: String = "tiny", heldOut: Bool = false) -> Recording {
    let times = (0..<40).map { Double($0) / 10 }
    var vel = [Float]()
    for i in 0..<40 { vel += [Float(i), -Float(i)] }
    return Recording(
        sessionID: session, subjectID: "subj", heldOut: heldOut, domain: Intervals([Interval(0, 4)]),
        spikeTimes: [0.05, 0.2, 0.2, 0.7, 1.0, 1.5, 2.5, 3.9],
        spikeUnit: [0, 2, 1, 0, 1, 2, 0, 1],
        unitIDs: ["\(session)/a", "\(session)/b", "\(session)/c"],
        behaviourTimes: times, behaviour: vel, behaviourDim: 2, position: [],
        normalizationMean: [1, 0], normalizationStd: [2, 4],
        trials: Intervals([Interval(0.5, 2.5)]),
        movementPhases: [
            "reach_period": Intervals([Interval(0.5, 1.5)]), "hold_period": Intervals([Interval(0.0, 0.5)]),
        ],
        trainDomain: Intervals([Interval(0, 4)]), validDomain: Intervals(), testDomain: Intervals(),
        lossWeights: [
            WeightedIntervals(
                name: "movement_phases/hold_period", intervals: Intervals([Interval(0.0, 0.5)]), weight: 0.1),
            WeightedIntervals(
                name: "movement_phases/reach_period", intervals: Intervals([Interval(0.5, 1.5)]), weight: 5),
        ],
        evalIntervals: Intervals([Interval(0.5, 1.5)]))
}
