import Foundation

/// torch's `OneCycleLR` as POYO trains with it (docs/spec.md §4.4): two cosine phases; the LR rises
/// from max_lr/div_factor to max_lr over the first `pctStart` of the steps, then falls to
/// initial/final_div_factor. β1 cycles the other way (0.95 → 0.85 → 0.95): easy to miss.
public struct OneCycleSchedule: Sendable, Equatable {
    public var maxLR: Double
    public var totalSteps: Int
    public var pctStart: Double = 0.5
    public var divFactor: Double = 1
    public var finalDivFactor: Double = 1e4
    public var baseMomentum: Double = 0.85
    public var maxMomentum: Double = 0.95

    public init(
        maxLR: Double, totalSteps: Int, pctStart: Double = 0.5, divFactor: Double = 1, finalDivFactor: Double = 1e4
    ) {
        self.maxLR = maxLR
        self.totalSteps = totalSteps
        self.pctStart = pctStart
        self.divFactor = divFactor
        self.finalDivFactor = finalDivFactor
    }

    var initialLR: Double { maxLR / divFactor }
    var minLR: Double { initialLR / finalDivFactor }

    private static func cosineAnneal(_ start: Double, _ end: Double, _ pct: Double) -> Double {
        end + (start - end) / 2 * (Foundation.cos(Double.pi * pct) + 1)
    }

    /// (lr, β1) for the optimizer step with 0-based index `step`.
    public func values(at step: Int) -> (lr: Double, beta1: Double) {
        let s = Double(min(max(step, 0), totalSteps - 1))
        let end1 = pctStart * Double(totalSteps) - 1
        let end2 = Double(totalSteps - 1)
        if s <= end1 {
            let pct = end1 > 0 ? s / end1 : 1
            return (Self.cosineAnneal(initialLR, maxLR, pct), Self.cosineAnneal(maxMomentum, baseMomentum, pct))
        }
        let pct = end2 > end1 ? (s - end1) / (end2 - end1) : 1
        return (Self.cosineAnneal(maxLR, minLR, pct), Self.cosineAnneal(baseMomentum, maxMomentum, pct))
    }
}
