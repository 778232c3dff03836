/// Everything the evaluate command reports about a classifier on a labelled set: the ISIC challenge metrics
/// (balanced accuracy, per-class sensitivity / specificity / AUC / average precision, melanoma operating
/// points), scikit-learn's classification report (precision, recall, F1, macro and weighted F1) and
/// calibration (ECE, Brier score, reliability diagram). The top-1 prediction is the argmax of each row.
public struct EvaluationReport: Codable, Sendable, Equatable {
    public let classes: [String]
    public let images: Int
    /// Share of images whose top-1 class is the true one.
    public let accuracy: Double
    /// Mean recall over the classes with support > 0: the ISIC 2018 / 2019 ranking metric ("normalized
    /// multi-class accuracy") and `sklearn.metrics.balanced_accuracy_score`. Unlike accuracy it is not
    /// dominated by nevi, which are two thirds of HAM10000.
    public let balancedAccuracy: Double
    public let perClass: [ClassMetrics]
    /// Mean F1 over the classes that are a true label or a prediction of some image, as
    /// `f1_score(average="macro", zero_division=0)` with its default labels: a class absent from both is
    /// no part of this evaluation, while one that is only predicted counts with F1 = 0.
    public let macroF1: Double
    /// F1 averaged with support as weights, as `f1_score(average="weighted")`.
    public let weightedF1: Double
    /// counts[true][predicted], as `sklearn.metrics.confusion_matrix` with `labels=range(k)`.
    public let confusion: [[Int]]
    /// Mean one-vs-rest ROC AUC over the classes with both positives and negatives; equals
    /// `roc_auc_score(multi_class="ovr", average="macro")` when every class occurs. Nil when no class has both.
    public let macroAUC: Double?
    /// Present when a class is named mel, melanoma or malignant (case-insensitive) and the set has both
    /// melanomas and other lesions.
    public let melanoma: MelanomaOperatingPoints?
    /// Expected calibration error over `reliability` (Guo et al. 2017).
    public let expectedCalibrationError: Double
    /// Mean over images of Σₖ (pₖ − yₖ)²; from 0 (certain and right) to 2 (certain and wrong).
    public let brierScore: Double
    /// Equal-width bins of top-1 confidence, empty ones included, for the reliability diagram.
    public let reliability: [ReliabilityBin]

    /// Every metric of `input`; `calibrationBins` (≥ 1) sets the reliability diagram's resolution, 15 as in
    /// Guo et al.
    public static func compute(_ input: EvaluationInput, calibrationBins: Int = 15) -> EvaluationReport {
        let k = input.classes.count
        let predictions = input.predictions()
        let confusion = ConfusionMatrix(labels: input.labels, predictions: predictions, classes: k)
        var rocs: [(points: [(fpr: Double, tpr: Double, threshold: Float)], auc: Double)?] = []
        var perClass: [ClassMetrics] = []
        for c in 0..<k {
            let scores = input.scores(of: c)
            let positives = input.labels.map { $0 == c }
            let roc = Ranking.roc(scores: scores, positives: positives)
            rocs.append(roc)
            perClass.append(ClassMetrics(
                name: input.classes[c], index: c, confusion: confusion, auc: roc?.auc,
                averagePrecision: Ranking.averagePrecision(scores: scores, positives: positives)))
        }

        let present = perClass.indices.filter { confusion.support($0) > 0 }
        let inEvaluation = perClass.indices.filter { confusion.support($0) > 0 || confusion.predicted($0) > 0 }
        let aucs = perClass.compactMap(\.auc)
        let melanoma = MelanomaOperatingPoints.melanomaClass(in: input.classes)
            .flatMap { rocs[$0] }
            .map { MelanomaOperatingPoints(roc: $0.points) }
        let reliability = Calibration.reliability(of: input, predictions: predictions, bins: calibrationBins)
        let correct = (0..<k).reduce(0) { $0 + confusion.truePositives($1) }

        return EvaluationReport(
            classes: input.classes, images: input.images,
            accuracy: Double(correct) / Double(input.images),
            balancedAccuracy: mean(present.map { perClass[$0].recall }),
            perClass: perClass,
            macroF1: mean(inEvaluation.map { perClass[$0].f1 }),
            weightedF1: perClass.reduce(0.0) { $0 + $1.f1 * Double($1.support) } / Double(input.images),
            confusion: confusion.counts,
            macroAUC: aucs.isEmpty ? nil : mean(aucs),
            melanoma: melanoma,
            expectedCalibrationError: Calibration.expectedCalibrationError(reliability, images: input.images),
            brierScore: Calibration.brierScore(input),
            reliability: reliability)
    }

    /// Callers pass at least one value: an input has ≥ 1 image, so some class has support and is in evaluation.
    private static func mean(_ values: [Double]) -> Double {
        values.reduce(0, +) / Double(values.count)
    }
}
