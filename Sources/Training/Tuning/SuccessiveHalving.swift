/// Successive halving (Jamieson & Talwalkar 2016; the rungs of ASHA, Li et al. 2020): every
/// trial trains `minEpochs`; the best 1/`reduction` of them go on to `reduction` times as many
/// epochs, and so on until the survivors reach `maxEpochs`. On one machine the trials run one
/// after another, so each rung is complete before any promotion: the synchronous form, which
/// promotes what ASHA would once a rung has filled.
///
/// A trial that stops early (early stopping) keeps the metric it reached; a failed trial has
/// none and is never promoted. Each rung's budget is a total epoch count: a promoted trial
/// resumes where it stopped, its learning-rate schedule spanning `maxEpochs` from the start.
public struct SuccessiveHalving: Sendable, Equatable, Codable {
    public let trials: Int
    public let minEpochs: Int
    public let maxEpochs: Int
    public let reduction: Int

    public init(trials: Int, minEpochs: Int, maxEpochs: Int, reduction: Int) throws {
        guard trials >= 1 else { throw TuningError("--trials must be at least 1, got \(trials)") }
        guard reduction >= 2 else { throw TuningError("--reduction must be at least 2, got \(reduction)") }
        guard minEpochs >= 1, minEpochs <= maxEpochs else {
            throw TuningError("--min-epochs must be 1…--epochs (\(maxEpochs)), got \(minEpochs)")
        }
        (self.trials, self.minEpochs, self.maxEpochs, self.reduction) = (trials, minEpochs, maxEpochs, reduction)
    }

    /// Total epochs at each rung: minEpochs · reduction^k while below maxEpochs, then maxEpochs;
    /// no more rungs than halvings of `trials` leave someone to promote.
    public var budgets: [Int] {
        var budgets: [Int] = []
        var epochs = minEpochs, survivors = trials
        while epochs < maxEpochs && survivors > 1 {
            budgets.append(epochs)
            epochs *= reduction
            survivors = max(1, survivors / reduction)
        }
        return budgets + [maxEpochs]
    }

    /// How many of `count` trials go on to the next rung: at least one.
    public func promoted(from count: Int) -> Int { max(1, count / reduction) }

    /// The trials to promote from a rung's results: the best by `metric` (higher is better when
    /// `higherIsBetter`), ties to the lower trial number; failed trials (nil) never.
    public func promote(_ results: [(trial: Int, metric: Double?)], higherIsBetter: Bool) -> [Int] {
        let ranked = Self.rank(results, higherIsBetter: higherIsBetter)
        return Array(ranked.prefix(promoted(from: results.count)))
    }

    /// Trials ordered best first; failed trials dropped.
    public static func rank(_ results: [(trial: Int, metric: Double?)], higherIsBetter: Bool) -> [Int] {
        let scored: [(trial: Int, metric: Double)] = results.compactMap { result in result.metric.map { (result.trial, $0) } }
        func better(_ a: (trial: Int, metric: Double), _ b: (trial: Int, metric: Double)) -> Bool {
            if a.metric == b.metric { return a.trial < b.trial }
            return higherIsBetter ? a.metric > b.metric : a.metric < b.metric
        }
        return scored.sorted(by: better).map(\.trial)
    }
}
