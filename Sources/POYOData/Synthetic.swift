import Foundation

/// Knobs of the synthetic center-out dataset (docs/synthetic.md explains the model).
public struct SyntheticConfig: Sendable {
    public var trialsPerSession = 150
    /// Units per session, drawn uniformly.
    public var unitRange: ClosedRange<Int> = 40...64
    /// Baseline firing rate (Hz), per unit.
    public var baselineRange: ClosedRange<Double> = 2...16
    /// Rate change per cm/s of velocity along the preferred direction (Hz·s/cm), per unit.
    public var gainRange: ClosedRange<Double> = 0.6...1.4
    /// Neurons lead movement: the rate at t follows the velocity at t + leadTime.
    public var leadTime = 0.1
    /// Behaviour sampling rate (Hz).
    public var samplingRate = 100.0
    /// Center-to-target distance (cm).
    public var reachDistance = 10.0
    public var targetCount = 8
    /// Target normalisation std (cm/s), as Perich's cursor velocity (docs/spec.md §4.3).
    public var velocityStd: Float = 20
    /// Slow velocity noise (cm/s, AR(1) with 0.1 s time constant) on top of the planned movement.
    public var velocityNoise = 1.0
    /// Session length in minutes instead of `trialsPerSession` trials: trials are added while they
    /// end before it.
    public var minutes: Double?
    /// Sessions differ in more than their draws (a pretraining corpus, issue 24): each session
    /// takes its own unit count, rates, gains, lead time, noise, reach distance and target count
    /// (`drawnForSession`). Off: every session shares these settings (the default dataset).
    public var varied = false

    public init() {}

    /// This session's settings when `varied`: drawn from `rng` around these ones (docs/synthetic.md).
    func drawnForSession(_ rng: inout SeededRNG) -> SyntheticConfig {
        var c = self
        let low = rng.int(below: 3) == 0 ? 15 : 30 + rng.int(below: 40)  // some sessions with few units
        c.unitRange = low...(low + 20 + rng.int(below: 140))
        let rate = rng.uniform(0.5, 2.0)
        c.baselineRange = (baselineRange.lowerBound * rate)...(baselineRange.upperBound * rate)
        let gain = rng.uniform(0.5, 1.5)
        c.gainRange = (gainRange.lowerBound * gain)...(gainRange.upperBound * gain)
        c.leadTime = rng.uniform(0.04, 0.2)
        c.velocityNoise = rng.uniform(0.5, 2.5)
        c.reachDistance = rng.uniform(6, 14)
        c.targetCount = [4, 8, 8, 16][rng.int(below: 4)]
        c.varied = false
        return c
    }
}

/// A deterministic synthetic center-out reaching dataset in the brainsets layout.
///
/// Sessions `synth_s00_center_out`, `synth_s01_center_out`, ... The first `sessions` are training
/// sessions (subjects `synth_monkey_c` / `synth_monkey_m`, alternating); the `heldOut` sessions
/// after them come from another subject (`synth_monkey_t`) and are marked held-out ("new animal").
public enum SyntheticDataset {
    public static let defaultSessions = 4
    public static let defaultHeldOut = 1

    public static func generate(
        sessions: Int = defaultSessions, heldOut: Int = defaultHeldOut, seed: UInt64,
        config: SyntheticConfig = SyntheticConfig()
    ) -> [Recording] {
        (0..<max(0, sessions + heldOut)).map { s in session(s, sessions: sessions, seed: seed, config: config) }
    }

    /// The session id of session number `s`.
    public static func sessionID(_ s: Int) -> String { "synth_s" + (s < 10 ? "0" : "") + String(s) + "_center_out" }

    /// Session number `s` of `generate`, on its own: the first `sessions` train, the rest are held out.
    static func session(_ s: Int, sessions: Int, seed: UInt64, config: SyntheticConfig) -> Recording {
        let root = SeededRNG(seed: seed)
        var rng = root.derived(UInt64(s) + 1)
        var c = config
        if config.varied {
            // A stream of its own, so the draws below stay those of the unvaried session.
            var settings = root.derived(0x7661_7269_6564_0000 | UInt64(s))
            c = config.drawnForSession(&settings)
        }
        let isHeldOut = s >= sessions
        let subject = isHeldOut ? "synth_monkey_t" : (s % 2 == 0 ? "synth_monkey_c" : "synth_monkey_m")
        return session(id: sessionID(s), subject: subject, heldOut: isHeldOut, config: c, rng: &rng)
    }

    /// Writes one `<session id>.h5` per session into `dir` (created if needed); returns their URLs.
    /// Sessions are made and written `workers` at a time (default: one per core), each dropped
    /// once written, so a thousand sessions need no more memory than a few.
    @discardableResult
    public static func write(
        to dir: URL, sessions: Int = defaultSessions, heldOut: Int = defaultHeldOut,
        seed: UInt64, config: SyntheticConfig = SyntheticConfig(), workers: Int? = nil
    ) throws -> [URL] {
        do {
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        } catch {
            throw DataError.io(path: dir.path, reason: "cannot create directory (\(error.localizedDescription))")
        }
        let total = max(0, sessions + heldOut)
        let count = workers ?? ProcessInfo.processInfo.activeProcessorCount
        return try ParallelMap.run(total, workers: count) { s in
            let url = dir.appendingPathComponent(sessionID(s) + ".h5")
            try BrainsetsWriter.write(session(s, sessions: sessions, seed: seed, config: config), to: url)
            return url
        }
    }

    // MARK: - One session

    static func session(
        id: String, subject: String, heldOut: Bool, config c: SyntheticConfig,
        rng: inout SeededRNG
    ) -> Recording {
        let plan = planTrials(config: c, rng: &rng)
        let dt = 1 / c.samplingRate
        let sampleCount = Int((plan.end * c.samplingRate).rounded(.down))
        let times = (0..<sampleCount).map { Double($0) / c.samplingRate }
        var (vx, vy) = kinematics(plan, times: times, config: c)
        addNoise(&vx, &vy, dt: dt, config: c, rng: &rng)

        var velocity = [Float](repeating: 0, count: 2 * sampleCount)
        var position = [Float](repeating: 0, count: 2 * sampleCount)
        var px = 0.0
        var py = 0.0
        for i in 0..<sampleCount {
            velocity[2 * i] = Float(vx[i])
            velocity[2 * i + 1] = Float(vy[i])
            position[2 * i] = Float(px)
            position[2 * i + 1] = Float(py)
            px += vx[i] * dt
            py += vy[i] * dt
        }

        let unitCount = c.unitRange.lowerBound + rng.int(below: c.unitRange.count)
        let (spikeTimes, spikeUnit) = spikes(
            unitCount: unitCount, vx: vx, vy: vy, end: plan.end,
            config: c, rng: &rng)
        let unitIDs = (0..<unitCount).map { k in "\(id)/group_M1/elec\(1 + rng.int(below: 96))/unit_\(k)" }

        // 70/10/20 trial split; training also uses the time between trials (docs/spec.md §1.4).
        let order = rng.permutation(plan.trials.count)
        let nValid = Int((Double(plan.trials.count) * 0.1).rounded())
        let nTest = Int((Double(plan.trials.count) * 0.2).rounded())
        let valid = Intervals(order.prefix(nValid).sorted().map { plan.trials[$0] })
        let test = Intervals(order.dropFirst(nValid).prefix(nTest).sorted().map { plan.trials[$0] })
        let domain = Intervals([Interval(0, plan.end)])
        let train = domain.subtracting(valid.union(test).dilated(by: 1.0))

        let phases = [
            "hold_period": Intervals(plan.hold), "reach_period": Intervals(plan.reach),
            "return_period": Intervals(plan.back),
        ]
        return Recording(
            sessionID: id, subjectID: subject, heldOut: heldOut, domain: domain,
            spikeTimes: spikeTimes, spikeUnit: spikeUnit, unitIDs: unitIDs,
            behaviourTimes: times, behaviour: velocity, behaviourDim: 2, position: position,
            normalizationMean: [0, 0], normalizationStd: [c.velocityStd, c.velocityStd],
            trials: Intervals(plan.trials), movementPhases: phases,
            trainDomain: train, validDomain: valid, testDomain: test,
            lossWeights: [
                WeightedIntervals(name: "movement_phases/hold_period", intervals: Intervals(plan.hold), weight: 0.1),
                WeightedIntervals(name: "movement_phases/reach_period", intervals: Intervals(plan.reach), weight: 5),
                WeightedIntervals(name: "movement_phases/return_period", intervals: Intervals(plan.back), weight: 1),
            ],
            evalIntervals: Intervals(plan.reach))
    }

    /// Trial timeline: hold at centre, reach out, pause at the target and move back, short gap.
    struct TrialPlan {
        var trials: [Interval] = [], hold: [Interval] = [], reach: [Interval] = [], back: [Interval] = []
        /// Per trial: reach direction (rad), distance (cm), start of the movement back.
        var angle: [Double] = [], distance: [Double] = [], backStart: [Double] = []
        var end = 0.0
    }

    static func planTrials(config c: SyntheticConfig, rng: inout SeededRNG) -> TrialPlan {
        var p = TrialPlan()
        var t = 0.5
        // A trial takes at most 3.2 s (hold, reach, pause, back, gap): with `minutes`, trials are
        // added while one more surely ends within the session.
        let limit = c.minutes.map { $0 * 60 - 0.5 - 3.2 }
        while limit.map({ t <= $0 }) ?? (p.trials.count < c.trialsPerSession) {
            let t1 = t + rng.uniform(0.5, 1.0)  // hold
            let t2 = t1 + rng.uniform(0.5, 0.8)  // reach
            let back = t2 + rng.uniform(0.1, 0.3)  // pause at the target
            let t3 = back + rng.uniform(0.5, 0.8)  // movement back
            let target = rng.int(below: c.targetCount)
            p.angle.append(2 * Double.pi * Double(target) / Double(c.targetCount) + 0.05 * rng.normal())
            p.distance.append(c.reachDistance * rng.uniform(0.9, 1.1))
            p.backStart.append(back)
            p.trials.append(Interval(t, t3))
            p.hold.append(Interval(t, t1))
            p.reach.append(Interval(t1, t2))
            p.back.append(Interval(t2, t3))
            t = t3 + rng.uniform(0.1, 0.4)  // inter-trial gap
        }
        p.end = t + 0.5
        return p
    }

    /// Minimum-jerk velocity: a bell-shaped speed `D/T · 30τ²(1−τ)²` peaking at 1.875·D/T
    /// (≈ 23–38 cm/s here), out along the target direction and back along the opposite one.
    static func kinematics(_ p: TrialPlan, times: [Double], config c: SyntheticConfig) -> ([Double], [Double]) {
        var vx = [Double](repeating: 0, count: times.count)
        var vy = [Double](repeating: 0, count: times.count)
        func move(from a: Double, to b: Double, angle: Double, distance: Double) {
            let duration = b - a
            for i in lowerBound(times, a)..<lowerBound(times, b) {
                let tau = (times[i] - a) / duration
                let speed = distance / duration * 30 * tau * tau * (1 - tau) * (1 - tau)
                vx[i] += speed * cos(angle)
                vy[i] += speed * sin(angle)
            }
        }
        for k in p.trials.indices {
            move(from: p.reach[k].start, to: p.reach[k].end, angle: p.angle[k], distance: p.distance[k])
            move(from: p.backStart[k], to: p.back[k].end, angle: p.angle[k] + .pi, distance: p.distance[k])
        }
        return (vx, vy)
    }

    static func addNoise(
        _ vx: inout [Double], _ vy: inout [Double], dt: Double, config c: SyntheticConfig,
        rng: inout SeededRNG
    ) {
        let a = exp(-dt / 0.1)
        let s = c.velocityNoise * (1 - a * a).squareRoot()
        var nx = 0.0
        var ny = 0.0
        for i in vx.indices {
            nx = a * nx + s * rng.normal()
            ny = a * ny + s * rng.normal()
            vx[i] += nx
            vy[i] += ny
        }
    }

    /// Cosine-tuned units: `rate(t) = max(0, b + g·(v(t + lead) · d̂))`, spikes by thinning an
    /// inhomogeneous Poisson process; the rate between samples is linearly interpolated.
    /// Returns spikes of all units sorted by time (ties by unit).
    static func spikes(
        unitCount: Int, vx: [Double], vy: [Double], end: Double, config c: SyntheticConfig,
        rng: inout SeededRNG
    ) -> ([Double], [Int32]) {
        let n = vx.count
        guard n > 0 else { return ([], []) }
        let lead = Int((c.leadTime * c.samplingRate).rounded())
        var all: [(Double, Int32)] = []
        var projection = [Double](repeating: 0, count: n)
        for u in 0..<unitCount {
            let baseline = rng.uniform(c.baselineRange.lowerBound, c.baselineRange.upperBound)
            let gain = rng.uniform(c.gainRange.lowerBound, c.gainRange.upperBound)
            let preferred = rng.uniform(0, 2 * .pi)
            let (cx, cy) = (cos(preferred), sin(preferred))
            var peak = 0.0
            for i in 0..<n {
                let j = i + lead
                projection[i] = j < n ? baseline + gain * (vx[j] * cx + vy[j] * cy) : baseline
                peak = max(peak, projection[i])
            }
            guard peak > 0 else { continue }
            var t = 0.0
            while true {
                t += -log(1 - rng.uniform()) / peak
                if t >= end { break }
                let x = t * c.samplingRate
                let i = min(Int(x), n - 1)
                let i1 = min(i + 1, n - 1)
                let f = x - Double(i)
                let rate = max(0, projection[i] + (projection[i1] - projection[i]) * min(1, f))
                if rng.uniform() * peak < rate { all.append((t, Int32(u))) }
            }
        }
        all.sort { $0.0 < $1.0 || ($0.0 == $1.0 && $0.1 < $1.1) }
        return (all.map(\.0), all.map(\.1))
    }
}
