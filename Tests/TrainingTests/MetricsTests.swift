import Foundation
import XCTest
import Training

/// Expected numbers come from scikit-learn 1.9.1 and numpy, run once by hand in a throwaway venv on exactly
/// these (FP32) inputs — not by the tests: accuracy_score, balanced_accuracy_score,
/// precision_recall_fscore_support(labels=range(k), zero_division=0), f1_score(average="macro" / "weighted",
/// zero_division=0), confusion_matrix(labels=range(k)), roc_auc_score and average_precision_score per class
/// one-vs-rest, specificity TN / (TN + FP) from the confusion matrix, ECE (15 bins, (m/15, (m+1)/15]) and
/// Brier in numpy, melanoma sensitivity at specificity by brute force over every threshold.
final class MetricsTests: XCTestCase {
    // Class 2 (bcc) has support 3 but is never predicted.
    static let threeClassLabels = [0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2]
    static let threeClassProbabilities: [Float] = [
        0.73, 0.04, 0.23,
        0.63, 0.07, 0.30,
        0.55, 0.26, 0.19,
        0.18, 0.66, 0.16,
        0.56, 0.06, 0.38,
        0.30, 0.43, 0.27,
        0.21, 0.58, 0.21,
        0.59, 0.25, 0.16,
        0.14, 0.44, 0.42,
        0.45, 0.31, 0.24,
        0.09, 0.67, 0.24,
        0.59, 0.35, 0.06,
    ]

    // HAM10000's classes: bcc has support 3 but is never predicted, df has no support but is predicted once,
    // vasc has no support and is never predicted. Two-decimal probabilities make many tied scores.
    static let sevenClasses = ["akiec", "bcc", "bkl", "df", "mel", "nv", "vasc"]
    static let sevenClassLabels = [0, 0, 0, 1, 1, 1, 2, 2, 2, 2, 4, 4, 4, 4, 4, 5, 5, 5, 5, 5, 5, 5, 5, 5]
    static let sevenClassProbabilities: [Float] = [
        0.37, 0.10, 0.21, 0.14, 0.06, 0.06, 0.06,
        0.05, 0.00, 0.69, 0.10, 0.12, 0.01, 0.03,
        0.15, 0.02, 0.13, 0.11, 0.33, 0.22, 0.04,
        0.47, 0.00, 0.07, 0.12, 0.16, 0.04, 0.14,
        0.08, 0.05, 0.37, 0.34, 0.08, 0.06, 0.02,
        0.03, 0.07, 0.06, 0.15, 0.01, 0.62, 0.06,
        0.26, 0.17, 0.27, 0.21, 0.01, 0.06, 0.02,
        0.01, 0.11, 0.48, 0.04, 0.15, 0.05, 0.16,
        0.03, 0.02, 0.08, 0.24, 0.01, 0.62, 0.00,
        0.03, 0.11, 0.18, 0.20, 0.17, 0.20, 0.11,
        0.01, 0.01, 0.10, 0.05, 0.43, 0.35, 0.05,
        0.26, 0.07, 0.14, 0.06, 0.31, 0.03, 0.13,
        0.04, 0.18, 0.10, 0.18, 0.13, 0.26, 0.11,
        0.19, 0.29, 0.05, 0.02, 0.33, 0.00, 0.12,
        0.09, 0.12, 0.27, 0.04, 0.24, 0.06, 0.18,
        0.15, 0.10, 0.00, 0.01, 0.25, 0.31, 0.18,
        0.05, 0.05, 0.05, 0.14, 0.24, 0.36, 0.11,
        0.13, 0.06, 0.11, 0.04, 0.07, 0.47, 0.12,
        0.02, 0.15, 0.02, 0.15, 0.40, 0.14, 0.12,
        0.11, 0.10, 0.01, 0.05, 0.04, 0.36, 0.33,
        0.12, 0.08, 0.09, 0.20, 0.00, 0.44, 0.07,
        0.29, 0.10, 0.11, 0.13, 0.22, 0.12, 0.03,
        0.03, 0.03, 0.27, 0.05, 0.11, 0.41, 0.10,
        0.23, 0.04, 0.25, 0.01, 0.01, 0.46, 0.00,
    ]

    func testThreeClassesWithAClassNeverPredicted() throws {
        let input = try EvaluationInput(
            probabilities: Self.threeClassProbabilities, labels: Self.threeClassLabels, classes: ["nv", "bkl", "bcc"])
        let report = EvaluationReport.compute(input)

        XCTAssertEqual(report.images, 12)
        XCTAssertEqual(report.confusion, [[4, 1, 0], [1, 3, 0], [2, 1, 0]])
        XCTAssertEqual(report.accuracy, 0.5833333333333334, accuracy: 1e-12)
        XCTAssertEqual(report.balancedAccuracy, 0.5166666666666667, accuracy: 1e-12)
        XCTAssertEqual(report.perClass.map(\.support), [5, 4, 3])
        assertMetricsEqual(report.perClass.map(\.precision), [0.5714285714285714, 0.6, 0], "precision")
        assertMetricsEqual(report.perClass.map(\.recall), [0.8, 0.75, 0], "recall")
        assertMetricsEqual(report.perClass.map(\.specificity), [0.5714285714285714, 0.75, 1], "specificity")
        assertMetricsEqual(report.perClass.map(\.f1), [0.6666666666666666, 0.6666666666666666, 0], "f1")
        XCTAssertEqual(report.macroF1, 0.4444444444444444, accuracy: 1e-12)
        XCTAssertEqual(report.weightedF1, 0.5, accuracy: 1e-12)
        assertMetricsEqual(report.perClass.map(\.auc), [0.7428571428571429, 0.65625, 0.37037037037037035], "auc")
        assertMetricsEqual(report.perClass.map(\.averagePrecision), [0.7533333333333332, 0.4694444444444444, 0.3055555555555556], "AP")
        // Every class occurs, so this is also roc_auc_score(multi_class="ovr", average="macro").
        XCTAssertEqual(try XCTUnwrap(report.macroAUC), 0.5898258377425044, accuracy: 1e-12)
        XCTAssertEqual(report.expectedCalibrationError, 0.12500000993410743, accuracy: 1e-9)
        XCTAssertEqual(report.brierScore, 0.6336499976699553, accuracy: 1e-9)
        XCTAssertNil(report.melanoma, "no class is melanoma")
    }

    func testSevenClassesWithZeroSupportAndUnpredictedClasses() throws {
        let input = try EvaluationInput(
            probabilities: Self.sevenClassProbabilities, labels: Self.sevenClassLabels, classes: Self.sevenClasses)
        let report = EvaluationReport.compute(input)

        XCTAssertEqual(report.classes, Self.sevenClasses)
        XCTAssertEqual(report.confusion, [
            [1, 0, 1, 0, 1, 0, 0], [1, 0, 1, 0, 0, 1, 0], [0, 0, 2, 1, 0, 1, 0], [0, 0, 0, 0, 0, 0, 0],
            [0, 0, 1, 0, 3, 1, 0], [1, 0, 0, 0, 1, 7, 0], [0, 0, 0, 0, 0, 0, 0],
        ])
        XCTAssertEqual(report.accuracy, 0.5416666666666666, accuracy: 1e-12)
        // Mean recall over the 5 classes with support: df and vasc do not count.
        XCTAssertEqual(report.balancedAccuracy, 0.4422222222222222, accuracy: 1e-12)
        XCTAssertEqual(report.perClass.map(\.support), [3, 3, 4, 0, 5, 9, 0])
        assertMetricsEqual(report.perClass.map(\.precision), [1.0 / 3, 0, 0.4, 0, 0.6, 0.7, 0], "precision")
        assertMetricsEqual(report.perClass.map(\.recall), [1.0 / 3, 0, 0.5, 0, 0.6, 0.7777777777777778, 0], "recall")
        assertMetricsEqual(report.perClass.map(\.specificity),
                    [0.9047619047619048, 1, 0.85, 0.9583333333333334, 0.8947368421052632, 0.8, 1], "specificity")
        assertMetricsEqual(report.perClass.map(\.f1),
                    [1.0 / 3, 0, 0.4444444444444444, 0, 0.6, 0.7368421052631579, 0], "f1")
        // Averaged over the 6 classes that are a label or a prediction: vasc is left out, df (predicted once) is in.
        XCTAssertEqual(report.macroF1, 0.35243664717348927, accuracy: 1e-12)
        XCTAssertEqual(report.weightedF1, 0.5170565302144249, accuracy: 1e-12)
        assertMetricsEqual(report.perClass.map(\.auc),
                    [0.6825396825396824, 0.246031746031746, 0.7125, nil, 0.8421052631578948, 0.8, nil], "auc")
        assertMetricsEqual(report.perClass.map(\.averagePrecision),
                    [0.3032407407407407, 0.10469187675070028, 0.35049019607843135, nil, 0.5969230769230769, 0.607936507936508, nil],
                    "AP")
        XCTAssertEqual(try XCTUnwrap(report.macroAUC), 0.6566353383458645, accuracy: 1e-12)
        XCTAssertEqual(report.expectedCalibrationError, 0.34416666316489375, accuracy: 1e-9)
        XCTAssertEqual(report.brierScore, 0.7518833307547496, accuracy: 1e-9)
        XCTAssertEqual(report.melanoma, MelanomaOperatingPoints(
            sensitivityAtSpecificity80: 0.6, sensitivityAtSpecificity90: 0.2, sensitivityAtSpecificity95: 0.2))
        XCTAssertEqual(report.reliability.count, 15)
        XCTAssertEqual(report.reliability.map(\.count).reduce(0, +), 24)
    }

    func testMelanomaSensitivityAtFixedSpecificity() throws {
        // 20 other lesions with melanoma probability 0.01 … 0.20 and 10 melanomas. Specificity ≥ 95 % allows
        // 1 false positive: threshold 0.195 flags 0.20 and the melanomas 0.5–0.9 and 0.195, so 6/10.
        // ≥ 90 % allows 2: threshold 0.185 adds 0.19 and the melanoma 0.185, so 7/10. ≥ 80 % allows 4:
        // threshold 0.165 flags 0.17–0.20 and every melanoma but 0.05, so 9/10.
        let others = (1...20).map { Float($0) / 100 }
        let melanomas: [Float] = [0.9, 0.8, 0.7, 0.6, 0.5, 0.195, 0.185, 0.175, 0.165, 0.05]
        let scores = others + melanomas
        let labels = Array(repeating: 0, count: 20) + Array(repeating: 1, count: 10)
        let probabilities: [Float] = scores.flatMap { score -> [Float] in [1 - score, score, 0] }
        let expected = MelanomaOperatingPoints(
            sensitivityAtSpecificity80: 0.9, sensitivityAtSpecificity90: 0.7, sensitivityAtSpecificity95: 0.6)
        for name in ["mel", "MEL", "Melanoma", "malignant"] {
            let input = try EvaluationInput(probabilities: probabilities, labels: labels, classes: ["nv", name, "bkl"])
            XCTAssertEqual(EvaluationReport.compute(input).melanoma, expected, name)
        }
        let noMelanomaClass = try EvaluationInput(probabilities: probabilities, labels: labels, classes: ["nv", "bcc", "bkl"])
        XCTAssertNil(EvaluationReport.compute(noMelanomaClass).melanoma)
        let noMelanomas = try EvaluationInput(probabilities: probabilities, labels: labels.map { _ in 0 }, classes: ["nv", "mel", "bkl"])
        XCTAssertNil(EvaluationReport.compute(noMelanomas).melanoma, "no ROC without positives")
    }

    func testReportRoundTripsThroughJSON() throws {
        let input = try EvaluationInput(
            probabilities: Self.sevenClassProbabilities, labels: Self.sevenClassLabels, classes: Self.sevenClasses)
        let report = EvaluationReport.compute(input)
        let decoded = try JSONDecoder().decode(EvaluationReport.self, from: JSONEncoder().encode(report))
        XCTAssertEqual(decoded, report)
    }

    func testInvalidInputsNameTheField() {
        let classes = ["nv", "mel"]
        assertMetricsError(field: "classes", mentions: "at least 2") {
            _ = try EvaluationInput(probabilities: [1], labels: [0], classes: ["nv"])
        }
        assertMetricsError(field: "classes", mentions: "\"nv\" appears twice") {
            _ = try EvaluationInput(probabilities: [0.5, 0.5], labels: [0], classes: ["nv", "nv"])
        }
        assertMetricsError(field: "labels", mentions: "at least 1 image") {
            _ = try EvaluationInput(probabilities: [], labels: [], classes: classes)
        }
        assertMetricsError(field: "probabilities", mentions: "2 images × 2 classes = 4 values") {
            _ = try EvaluationInput(probabilities: [0.5, 0.5, 1], labels: [0, 1], classes: classes)
        }
        assertMetricsError(field: "labels", mentions: "labels[1] is 2; expected a class index in 0..<2") {
            _ = try EvaluationInput(probabilities: [0.5, 0.5, 0.5, 0.5], labels: [0, 2], classes: classes)
        }
        assertMetricsError(field: "labels", mentions: "labels[0] is -1") {
            _ = try EvaluationInput(probabilities: [0.5, 0.5], labels: [-1], classes: classes)
        }
        assertMetricsError(field: "probabilities", mentions: "image 1, class 0 is nan; expected a finite probability in [0, 1]") {
            _ = try EvaluationInput(probabilities: [0.5, 0.5, .nan, 0.5], labels: [0, 1], classes: classes)
        }
        assertMetricsError(field: "probabilities", mentions: "image 0, class 0 is 1.5") {
            _ = try EvaluationInput(probabilities: [1.5, -0.5], labels: [0], classes: classes)
        }
        assertMetricsError(field: "probabilities", mentions: "image 1 sums to") {
            _ = try EvaluationInput(probabilities: [0.5, 0.5, 0.6, 0.6], labels: [0, 1], classes: classes)
        }
        XCTAssertNoThrow(try EvaluationInput(probabilities: [0.5, 0.5004], labels: [1], classes: classes),
                         "within the 1e-3 tolerance")
    }

    func testTiedTopProbabilityPredictsTheFirstClass() throws {
        let input = try EvaluationInput(probabilities: [0.4, 0.4, 0.2], labels: [1], classes: ["nv", "mel", "bkl"])
        XCTAssertEqual(EvaluationReport.compute(input).confusion[1], [1, 0, 0], "argmax takes the lowest index, as numpy does")
    }
}

func assertMetricsEqual(_ actual: [Double?], _ expected: [Double?], _ what: String, accuracy: Double = 1e-12,
                 file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(actual.count, expected.count, what, file: file, line: line)
    for (index, (a, e)) in zip(actual, expected).enumerated() {
        switch (a, e) {
        case let (a?, e?): XCTAssertEqual(a, e, accuracy: accuracy, "\(what)[\(index)]", file: file, line: line)
        case (nil, nil): break
        default: XCTFail("\(what)[\(index)]: \(String(describing: a)) != \(String(describing: e))", file: file, line: line)
        }
    }
}

func assertMetricsError(field: String, mentions text: String, file: StaticString = #filePath, line: UInt = #line,
                 _ body: () throws -> Void) {
    do {
        try body()
        XCTFail("expected a MetricsError for \(field)", file: file, line: line)
    } catch let error as MetricsError {
        XCTAssertEqual(error.field, field, error.description, file: file, line: line)
        XCTAssertTrue(error.message.contains(text), "\"\(error.message)\" should mention \"\(text)\"", file: file, line: line)
    } catch {
        XCTFail("unexpected error \(error)", file: file, line: line)
    }
}
