import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import XCTest
@testable import Training

final class ReportTests: XCTestCase {
    /// A class name that would inject markup if any path printed it unescaped.
    static let hostileClass = "bcc<script>&\""
    static let classes = ["mel", "nv", hostileClass]
    static let labels = [0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2]
    static let probabilities: [Float] = [
        0.73, 0.04, 0.23, 0.63, 0.07, 0.30, 0.55, 0.26, 0.19, 0.18, 0.66, 0.16,
        0.56, 0.06, 0.38, 0.30, 0.43, 0.27, 0.21, 0.58, 0.21, 0.59, 0.25, 0.16,
        0.14, 0.44, 0.42, 0.45, 0.31, 0.24, 0.09, 0.67, 0.24, 0.59, 0.35, 0.06,
    ]
    static let banner = "Research use only — not for diagnosis. Do not use on patients."

    func input(epochs: [EpochRecord]) throws -> HTMLReport.Input {
        let evaluation = try EvaluationInput(probabilities: Self.probabilities, labels: Self.labels, classes: Self.classes)
        let report = EvaluationReport.compute(evaluation)
        let curves = Self.classes.indices.compactMap { c -> (className: String, points: [(fpr: Double, tpr: Double)])? in
            let scores = Self.labels.indices.map { Self.probabilities[$0 * Self.classes.count + c] }
            guard let roc = Ranking.roc(scores: scores, positives: Self.labels.map { $0 == c }) else { return nil }
            return (Self.classes[c], roc.points.map { ($0.fpr, $0.tpr) })
        }
        return HTMLReport.Input(
            title: "tiny-net on a 3-class toy — test split", report: report, rocCurves: curves, epochs: epochs,
            topLosses: [
                ("ISIC_0000001", "mel", Self.hostileClass, 0.59, Data([0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10])),
                ("ISIC_0000002", "nv", "mel", 0.56, nil),
            ],
            intendedUse: Self.banner)
    }

    /// The second epoch diverged: its NaN validation loss must be left out of the plot, not printed.
    static let epochs = [
        EpochRecord(epoch: 1, stage: "head", learningRate: 1e-3, trainLoss: 1.2, trainImagesPerSecond: 100, valLoss: 1.1,
                    valAccuracy: 0.5, valBalancedAccuracy: 0.4, valMacroAUC: 0.7, best: true),
        EpochRecord(epoch: 2, stage: "full", learningRate: 1e-4, trainLoss: 0.8, trainImagesPerSecond: 90, valLoss: .nan,
                    valAccuracy: 0.6, valBalancedAccuracy: 0.5, valMacroAUC: nil, best: false),
    ]

    func testReportIsWellFormedAndComplete() throws {
        let input = try input(epochs: Self.epochs)
        let html = HTMLReport.render(input)
        try assertWellFormed(html)

        XCTAssertTrue(html.hasPrefix("<!DOCTYPE html>"))
        XCTAssertTrue(html.contains(String(format: "%.3f", input.report.balancedAccuracy)))
        XCTAssertTrue(html.contains("<td>0.517</td>"), "balanced accuracy (4/5 + 3/4 + 0) / 3 as printed in the summary")
        for name in ["mel", "nv", "bcc&lt;script&gt;&amp;&quot;"] { XCTAssertTrue(html.contains(name), name) }
        XCTAssertTrue(html.contains(Self.banner))
        XCTAssertTrue(html.contains("Melanoma sensitivity at 95% specificity"))
        // Confusion matrix, ROC, reliability, per-class bars, training curves: each one accessible <svg>.
        XCTAssertEqual(occurrences(of: "<svg ", in: html), 5)
        XCTAssertEqual(occurrences(of: "<svg role=\"img\" aria-label=\"", in: html), 5)
        XCTAssertEqual(occurrences(of: "<title>", in: html), 6, "page title and one per plot")
        XCTAssertTrue(html.contains("Training curves"))
        XCTAssertFalse(html.lowercased().contains("http"), "self-contained: no external URL")
        XCTAssertFalse(html.lowercased().contains("<script"))
        XCTAssertFalse(html.contains("nan"), "a diverged loss is left out, not printed")
        XCTAssertTrue(html.contains("src=\"data:image/jpeg;base64,/9j/4AAQ\""))
        XCTAssertTrue(html.contains("no thumbnail"))
    }

    func testTrainingCurvesAbsentWithoutEpochs() throws {
        let html = HTMLReport.render(try input(epochs: []))
        try assertWellFormed(html)
        XCTAssertEqual(occurrences(of: "<svg ", in: html), 4)
        XCTAssertFalse(html.contains("Training curves"))
    }

    func testEscapesUserText() throws {
        var input = try input(epochs: [])
        input.title = "a < b & \"c\" 'd'"
        input.intendedUse = "<b>bold</b>"
        let html = HTMLReport.render(input)
        try assertWellFormed(html)
        XCTAssertTrue(html.contains("a &lt; b &amp; &quot;c&quot; &#39;d&#39;"))
        XCTAssertTrue(html.contains("&lt;b&gt;bold&lt;/b&gt;"))
        XCTAssertFalse(html.contains("<b>"))
    }

    private func occurrences(of needle: String, in haystack: String) -> Int {
        haystack.components(separatedBy: needle).count - 1
    }

    /// Parses the page as XML: any unescaped `<` or `&`, unclosed tag or unquoted attribute throws.
    private func assertWellFormed(_ html: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let document = try XMLDocument(xmlString: html, options: [])
        XCTAssertEqual(document.rootElement()?.name, "html", file: file, line: line)
    }
}
