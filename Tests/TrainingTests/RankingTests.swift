import XCTest
import Training

/// The tied example's expected numbers come from scikit-learn 1.9.1, run once by hand on these FP32 scores
/// (not by the tests): roc_auc_score, average_precision_score and roc_curve(drop_intermediate=False).
final class RankingTests: XCTestCase {
    // Scores with one decimal, so most thresholds are shared by positives and negatives.
    static let scores: [Float] = [
        0.2, 0.2, 0.6, 0.5, 0.6, 0.1, 0.8, 0.6, 0.5, 0.0, 0.6, 0.4, 0.8, 0.6, 0.9,
        0.7, 0.5, 0.7, 0.3, 0.7, 0.7, 0.3, 0.8, 0.2, 0.6, 0.5, 0.3, 0.3, 0.5, 0.1,
    ]
    static let positives = [
        false, true, false, false, false, false, true, false, false, false, false, false, true, false, true,
        false, false, true, false, false, false, false, true, false, false, true, true, false, false, false,
    ]

    func testROCWithTiesMatchesScikitLearn() throws {
        let roc = try XCTUnwrap(Ranking.roc(scores: Self.scores, positives: Self.positives))
        XCTAssertEqual(roc.auc, 0.7386363636363636, accuracy: 1e-12)
        assertMetricsEqual(roc.points.map(\.fpr), [
            0, 0, 0, 0.13636363636363635, 0.4090909090909091, 0.5909090909090909, 0.6363636363636364,
            0.7727272727272727, 0.8636363636363636, 0.9545454545454546, 1,
        ], "fpr")
        assertMetricsEqual(roc.points.map(\.tpr), [0, 0.125, 0.5, 0.625, 0.625, 0.75, 0.75, 0.875, 1, 1, 1], "tpr")
        XCTAssertEqual(roc.points.map(\.threshold), [.infinity, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0])
    }

    func testAveragePrecisionWithTiesMatchesScikitLearn() throws {
        let ap = try XCTUnwrap(Ranking.averagePrecision(scores: Self.scores, positives: Self.positives))
        XCTAssertEqual(ap, 0.6910940545808967, accuracy: 1e-12)
    }

    func testResultsDoNotDependOnTheOrderOfTiedImages() throws {
        let reversedROC = try XCTUnwrap(Ranking.roc(scores: Self.scores.reversed(), positives: Self.positives.reversed()))
        XCTAssertEqual(reversedROC.auc, 0.7386363636363636, accuracy: 1e-12)
        let reversedAP = try XCTUnwrap(Ranking.averagePrecision(scores: Self.scores.reversed(), positives: Self.positives.reversed()))
        XCTAssertEqual(reversedAP, 0.6910940545808967, accuracy: 1e-12)
    }

    func testHandCheckedCurves() throws {
        // Ranked P N P N: AUC = 3 of 4 positive–negative pairs in order = 0.75;
        // AP = ½ (1/1 + 2/3) = 5/6.
        let scores: [Float] = [0.9, 0.8, 0.7, 0.6]
        let positives = [true, false, true, false]
        XCTAssertEqual(try XCTUnwrap(Ranking.roc(scores: scores, positives: positives)).auc, 0.75, accuracy: 1e-15)
        XCTAssertEqual(try XCTUnwrap(Ranking.averagePrecision(scores: scores, positives: positives)), 5.0 / 6, accuracy: 1e-15)

        // One score for everyone: a single diagonal step, AUC ½, and AP is the prevalence.
        let tied = [Float](repeating: 0.3, count: 4)
        XCTAssertEqual(try XCTUnwrap(Ranking.roc(scores: tied, positives: positives)).auc, 0.5, accuracy: 1e-15)
        XCTAssertEqual(try XCTUnwrap(Ranking.averagePrecision(scores: tied, positives: [true, false, false, false])), 0.25, accuracy: 1e-15)

        // Perfect and perfectly inverted rankings.
        XCTAssertEqual(Ranking.roc(scores: scores, positives: [true, true, false, false])?.auc, 1)
        XCTAssertEqual(Ranking.roc(scores: scores, positives: [false, false, true, true])?.auc, 0)
        XCTAssertEqual(Ranking.averagePrecision(scores: scores, positives: [true, true, false, false]), 1)
    }

    func testUndefinedWithoutBothClasses() {
        let scores: [Float] = [0.1, 0.5, 0.9]
        XCTAssertNil(Ranking.roc(scores: scores, positives: [true, true, true]))
        XCTAssertNil(Ranking.roc(scores: scores, positives: [false, false, false]))
        XCTAssertNil(Ranking.averagePrecision(scores: scores, positives: [false, false, false]))
        XCTAssertEqual(Ranking.averagePrecision(scores: scores, positives: [true, true, true]), 1, "precision is 1 everywhere")
    }
}
