/// Lowers the learning rate when a validation metric stops improving, as
/// `torch.optim.lr_scheduler.ReduceLROnPlateau` with `threshold_mode="rel"`: a metric counts as
/// an improvement only when it beats the best so far by the relative `threshold`; after more
/// than `patience` epochs without one, `factor` is multiplied by `reduction` (not below
/// `minFactor`), and the next `cooldown` epochs count no bad epochs.
///
/// It holds a multiplier rather than a rate so it composes with a `LearningRateSchedule`, and
/// is Codable so a checkpoint stores its counters and a resumed run reduces at the same epoch.
public final class ReduceOnPlateau: Codable {
    /// Whether a lower (loss) or a higher (accuracy, balanced accuracy, AUC) metric is better.
    public enum Mode: String, Codable, Sendable { case min, max }

    public let mode: Mode
    /// PyTorch's `factor`: the multiplier applied on each reduction.
    public let reduction: Float
    public let patience: Int
    public let threshold: Double
    public let cooldown: Int
    public let minFactor: Float
    /// The current learning-rate multiplier, 1 until the first reduction.
    public private(set) var factor: Float = 1
    /// The best metric so far; nil before the first (PyTorch starts from ±∞, which JSON cannot hold).
    public private(set) var best: Double?
    public private(set) var badEpochs = 0
    public private(set) var cooldownLeft = 0

    public init(mode: Mode, reduction: Float = 0.1, patience: Int = 10, threshold: Double = 1e-4,
                cooldown: Int = 0, minFactor: Float = 0) throws {
        guard reduction > 0, reduction < 1, patience >= 0, threshold >= 0, cooldown >= 0, (0...1).contains(minFactor) else {
            throw NeuralNetError.invalidArgument(
                "ReduceOnPlateau needs reduction in (0, 1), patience, threshold and cooldown ≥ 0, minFactor in [0, 1]")
        }
        self.mode = mode
        self.reduction = reduction
        self.patience = patience
        self.threshold = threshold
        self.cooldown = cooldown
        self.minFactor = minFactor
    }

    /// Records one epoch's metric; returns true when it lowered `factor`.
    public func update(metric: Double) -> Bool {
        if isImprovement(metric) {
            best = metric
            badEpochs = 0
        } else {
            badEpochs += 1
        }
        if cooldownLeft > 0 {
            cooldownLeft -= 1
            badEpochs = 0
        }
        guard badEpochs > patience else { return false }
        cooldownLeft = cooldown
        badEpochs = 0
        let reduced = max(factor * reduction, minFactor)
        guard reduced < factor else { return false }
        factor = reduced
        return true
    }

    private func isImprovement(_ metric: Double) -> Bool {
        switch mode {
        case .min: return metric < (best ?? .infinity) * (1 - threshold)
        case .max: return metric > (best ?? -.infinity) * (1 + threshold)
        }
    }
}
