import Foundation

/// A learning-rate multiplier per optimizer step, counted from 0: the trainer sets
/// lr = base · factor(at: step) before each step (times `ReduceOnPlateau.factor` when used).
/// A closed form of the step, so a resumed run needs to store only the step count.
public enum LearningRateSchedule: Codable, Sendable, Equatable {
    case constant
    /// Linear warmup from 0 over `warmupSteps` (step/warmup, as transformers'
    /// `get_cosine_schedule_with_warmup`), then a half cosine from 1 down to `minFactor` at
    /// `totalSteps`, and `minFactor` after. Warmup keeps the first large, noisy gradients of a
    /// new head from wrecking pretrained features.
    case warmupCosine(warmupSteps: Int, totalSteps: Int, minFactor: Float)
    /// `torch.optim.lr_scheduler.OneCycleLR` with cosine annealing and two phases, relative
    /// to its `max_lr`: from 1/divFactor up to 1 at step pctStart·total − 1, then down to
    /// 1/(divFactor·finalDivFactor) at step total − 1, where it stays (torch raises instead).
    /// Momentum is not cycled.
    case oneCycle(totalSteps: Int, pctStart: Float = 0.3, divFactor: Float = 25, finalDivFactor: Float = 1e4)
    /// `torch.optim.lr_scheduler.StepLR`: multiplied by `gamma` every `stepSize` steps.
    case step(stepSize: Int, gamma: Float)

    public func factor(at step: Int) -> Float {
        switch self {
        case .constant:
            return 1
        case .warmupCosine(let warmupSteps, let totalSteps, let minFactor):
            if step < warmupSteps { return Float(step) / Float(warmupSteps) }
            let progress = min(1, Double(step - warmupSteps) / Double(max(1, totalSteps - warmupSteps)))
            return Float(Double(minFactor) + (1 - Double(minFactor)) * (1 + cos(.pi * progress)) / 2)
        case .oneCycle(let totalSteps, let pctStart, let divFactor, let finalDivFactor):
            let initial = 1 / Double(divFactor), final = initial / Double(finalDivFactor)
            let peakStep = Double(pctStart) * Double(totalSteps) - 1, lastStep = Double(totalSteps - 1)
            let s = Double(min(max(step, 0), totalSteps - 1))
            // PyTorch's `_annealing_cos` and phase boundaries, fractional peak step included (a
            // peak at step 0, where PyTorch divides by zero, is taken as reached).
            func anneal(_ start: Double, _ end: Double, _ pct: Double) -> Double {
                end + (start - end) / 2 * (cos(.pi * pct) + 1)
            }
            if s <= peakStep { return Float(anneal(initial, 1, peakStep > 0 ? s / peakStep : 1)) }
            return Float(anneal(1, final, (s - peakStep) / (lastStep - peakStep)))
        case .step(let stepSize, let gamma):
            return Float(pow(Double(gamma), Double(step / max(1, stepSize))))
        }
    }
}
