/// The validation figure that picks the best epoch and drives early stopping and
/// reduce-on-plateau. Balanced accuracy is the default because it is what the ISIC challenges
/// rank by; on imbalanced data, accuracy and loss reward predicting the majority class.
public enum MonitoredMetric: String, Codable, Sendable, CaseIterable {
    case balancedAccuracy = "balanced-accuracy"
    case accuracy
    case macroAUC = "macro-auc"
    case macroF1 = "macro-f1"
    case loss

    /// Whether a larger value is better (all but the loss).
    public var higherIsBetter: Bool { self != .loss }

    /// Words for logs and the model card.
    public var label: String {
        switch self {
        case .balancedAccuracy: "balanced accuracy"
        case .accuracy: "accuracy"
        case .macroAUC: "macro AUC"
        case .macroF1: "macro F1"
        case .loss: "loss"
        }
    }

    /// This metric's value in a validation result; macro AUC is undefined when a class has no
    /// validation image, which is an error here rather than a silent fallback.
    func value(in report: EvaluationReport, loss: Double) throws -> Double {
        switch self {
        case .balancedAccuracy: return report.balancedAccuracy
        case .accuracy: return report.accuracy
        case .macroF1: return report.macroF1
        case .loss: return loss
        case .macroAUC:
            guard let auc = report.macroAUC else {
                throw TrainingError.invalidConfig("--monitor macro-auc: macro AUC is undefined on this validation split "
                                                  + "(a class has no images, or all images are of one class); monitor another metric")
            }
            return auc
        }
    }

    /// Whether `value` beats `best` (any value beats no best yet).
    func improves(_ value: Double, on best: Double?) -> Bool {
        guard let best else { return true }
        return higherIsBetter ? value > best : value < best
    }
}
