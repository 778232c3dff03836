/// One class, one-vs-rest. Ratios whose denominator is 0 (precision of a class never predicted, recall of a
/// class with no support, ...) are reported as 0, as scikit-learn's `precision_recall_fscore_support` does
/// with `zero_division=0`, so the numbers match a scikit-learn classification report. (ImageMarkup's
/// isic-challenge-scoring instead gives such a sensitivity, specificity or PPV 1 as "a freebie"; a 0 never
/// flatters a model.) `support` and the confusion matrix tell such a 0 from a real one.
public struct ClassMetrics: Codable, Sendable, Equatable {
    public let name: String
    /// Images whose true class this is.
    public let support: Int
    /// TP / (TP + FP).
    public let precision: Double
    /// TP / (TP + FN): the sensitivity.
    public let recall: Double
    /// TN / (TN + FP).
    public let specificity: Double
    /// 2TP / (2TP + FP + FN), the harmonic mean of precision and recall (scikit-learn ≥ 1.3's form).
    public let f1: Double
    /// One-vs-rest ROC AUC on this class's probability; nil when the class has no positive or no negative.
    public let auc: Double?
    /// One-vs-rest average precision on this class's probability; nil when the class has no positive.
    public let averagePrecision: Double?
}

extension ClassMetrics {
    init(name: String, index c: Int, confusion: ConfusionMatrix, auc: Double?, averagePrecision: Double?) {
        let tp = confusion.truePositives(c), fp = confusion.falsePositives(c)
        let fn = confusion.falseNegatives(c), tn = confusion.trueNegatives(c)
        self.init(
            name: name, support: confusion.support(c),
            precision: Self.ratio(tp, tp + fp), recall: Self.ratio(tp, tp + fn),
            specificity: Self.ratio(tn, tn + fp), f1: Self.ratio(2 * tp, 2 * tp + fp + fn),
            auc: auc, averagePrecision: averagePrecision)
    }

    private static func ratio(_ numerator: Int, _ denominator: Int) -> Double {
        denominator == 0 ? 0 : Double(numerator) / Double(denominator)
    }
}
