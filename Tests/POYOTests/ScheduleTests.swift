import Foundation
import POYO
import Testing

/// torch.optim.lr_scheduler.OneCycleLR(max_lr, total_steps, pct_start 0.5, div_factor 1,
/// final_div_factor 1e4, anneal cos, cycle_momentum with 0.85/0.95), worked by hand.
@Suite struct ScheduleTests {
    @Test func phaseBoundariesAndMomentumCycle() {
        let s = OneCycleSchedule(maxLR: 2.0, totalSteps: 10)  // phase 1 ends at step 4, phase 2 at 9
        let close = { (a: Double, b: Double) in abs(a - b) < 1e-12 }
        #expect(close(s.values(at: 0).lr, 2.0) && close(s.values(at: 0).beta1, 0.95))
        #expect(close(s.values(at: 2).lr, 2.0) && close(s.values(at: 2).beta1, 0.90))  // pct 0.5 of phase 1
        #expect(close(s.values(at: 4).lr, 2.0) && close(s.values(at: 4).beta1, 0.85))
        // Phase 2: pct = (step − 4) / 5; lr = min + (max − min)/2 · (1 + cos(π·pct)).
        let minLR = 2.0 / 1e4
        for step in 5...9 {
            let pct = Double(step - 4) / 5
            let lr = minLR + (2.0 - minLR) / 2 * (1 + cos(Double.pi * pct))
            let b1 = 0.95 + (0.85 - 0.95) / 2 * (1 + cos(Double.pi * pct))
            #expect(close(s.values(at: step).lr, lr), "lr at step \(step)")
            #expect(close(s.values(at: step).beta1, b1), "beta1 at step \(step)")
        }
        #expect(close(s.values(at: 9).lr, minLR) && close(s.values(at: 9).beta1, 0.95))
    }

    @Test func warmupFromDivFactor() {
        let s = OneCycleSchedule(maxLR: 1.0, totalSteps: 100, pctStart: 0.3, divFactor: 25)
        #expect(abs(s.values(at: 0).lr - 0.04) < 1e-12)
        #expect(abs(s.values(at: 29).lr - 1.0) < 1e-12)  // end of phase 1 = 0.3·100 − 1
        #expect(s.values(at: 15).lr > 0.04 && s.values(at: 15).lr < 1.0)
    }
}
