/// Threshold-free ranking metrics of one binary problem (a class one-vs-rest), defined exactly as
/// scikit-learn's `roc_curve` / `roc_auc_score` and `average_precision_score`, so numbers reported here can
/// be compared with published ones. Images with equal scores cannot be separated by any threshold, so they
/// form one step of each curve rather than an order-dependent staircase.
public enum Ranking {
    /// ROC curve points (fpr, tpr) with their thresholds — one point per distinct score, highest first, after
    /// a starting (0, 0) at threshold +∞; an image is flagged when its score is ≥ the threshold — and the
    /// area under it by the trapezoid rule (a tie step contributes its diagonal, i.e. counts ½ per tied
    /// positive–negative pair), equal to `sklearn.metrics.roc_auc_score`. Unlike `roc_curve`'s default
    /// `drop_intermediate=True`, collinear points are kept, so every threshold can be used as an operating
    /// point. Nil when only one class is present. Scores must not be NaN.
    public static func roc(scores: [Float], positives: [Bool])
        -> (points: [(fpr: Double, tpr: Double, threshold: Float)], auc: Double)?
    {
        let curve = RankedCounts(scores: scores, positives: positives)
        guard curve.positives > 0, curve.negatives > 0 else { return nil }
        let p = Double(curve.positives), n = Double(curve.negatives)
        var points: [(fpr: Double, tpr: Double, threshold: Float)] = [(0, 0, .infinity)]
        var twiceArea = 0.0, previous = (tp: 0, fp: 0)
        for step in curve.steps {
            points.append((Double(step.fp) / n, Double(step.tp) / p, step.threshold))
            twiceArea += Double(step.fp - previous.fp) * Double(step.tp + previous.tp)
            previous = (step.tp, step.fp)
        }
        return (points, twiceArea / (2 * p * n))
    }

    /// Average precision as `sklearn.metrics.average_precision_score`: Σₙ (Rₙ − Rₙ₋₁) Pₙ over the distinct
    /// thresholds, highest first — the step-wise area under the precision–recall curve, without the
    /// interpolation that makes the trapezoid rule optimistic. Nil when there is no positive (recall is 0/0).
    /// Scores must not be NaN.
    public static func averagePrecision(scores: [Float], positives: [Bool]) -> Double? {
        let curve = RankedCounts(scores: scores, positives: positives)
        guard curve.positives > 0 else { return nil }
        var sum = 0.0, previousTP = 0
        for step in curve.steps {
            let precision = Double(step.tp) / Double(step.tp + step.fp)
            sum += Double(step.tp - previousTP) * precision
            previousTP = step.tp
        }
        return sum / Double(curve.positives)
    }
}

/// True and false positives flagged at each distinct score used as threshold, highest first: the one pass
/// over sorted scores that both curves are read from.
struct RankedCounts {
    let steps: [(threshold: Float, tp: Int, fp: Int)]
    let positives: Int
    let negatives: Int

    init(scores: [Float], positives: [Bool]) {
        precondition(scores.count == positives.count, "Ranking: \(scores.count) scores for \(positives.count) labels")
        precondition(!scores.contains(where: \.isNaN), "Ranking: scores must not be NaN")
        let order = scores.indices.sorted { scores[$0] > scores[$1] }
        var steps: [(threshold: Float, tp: Int, fp: Int)] = []
        var tp = 0, fp = 0
        for (rank, index) in order.enumerated() {
            if positives[index] { tp += 1 } else { fp += 1 }
            let isLastOfTie = rank + 1 == order.count || scores[order[rank + 1]] != scores[index]
            if isLastOfTie { steps.append((scores[index], tp, fp)) }
        }
        self.steps = steps
        self.positives = tp
        self.negatives = fp
    }
}
