import Foundation

/// A model's evaluation as one self-contained HTML page: no external stylesheet, script, font or image, so it
/// can be mailed, archived next to the run or opened offline and still show everything. The markup is also
/// well-formed XHTML (closed tags, quoted attributes, only XML's five entities), which lets tests parse it.
public enum HTMLReport {
    public struct Input {
        /// Page heading, e.g. "efficientnet-lite0 on HAM10000 — test split".
        public var title: String
        public var report: EvaluationReport
        /// One-vs-rest ROC curves (from `Ranking.roc`), one per class that has both positives and negatives.
        public var rocCurves: [(className: String, points: [(fpr: Double, tpr: Double)])]
        /// The run's per-epoch log; empty when the run is unknown, and then the training-curves section is left out.
        public var epochs: [EpochRecord]
        /// The most confidently wrong images, shown as a gallery; thumbnails are embedded as data: URIs.
        public var topLosses: [(imageID: String, trueClass: String, predicted: String, confidence: Double, thumbnailJPEG: Data?)]
        /// Shown verbatim in a banner that stays on screen while scrolling, so no plot is read without it.
        public var intendedUse: String
        /// For an ensemble, each member's own evaluation on the same images, shown beside the ensemble's.
        public var members: [(name: String, report: EvaluationReport)] = []

        public init(
            title: String, report: EvaluationReport,
            rocCurves: [(className: String, points: [(fpr: Double, tpr: Double)])],
            epochs: [EpochRecord],
            topLosses: [(imageID: String, trueClass: String, predicted: String, confidence: Double, thumbnailJPEG: Data?)],
            intendedUse: String
        ) {
            self.title = title
            self.report = report
            self.rocCurves = rocCurves
            self.epochs = epochs
            self.topLosses = topLosses
            self.intendedUse = intendedUse
        }
    }

    public static func render(_ input: Input) -> String {
        let report = input.report
        var sections = [
            section("Summary", summaryTable(report)),
            section("Per-class metrics", perClassTable(report.perClass)),
            section("Confusion matrix", ConfusionMatrixSVG.render(classes: report.classes, counts: report.confusion)),
            section("ROC curves (one-vs-rest)", ROCCurvesSVG.render(curves: input.rocCurves) { name in
                report.perClass.first { $0.name == name }?.auc
            }),
            section("Calibration", ReliabilitySVG.render(bins: report.reliability)),
            section("Recall and precision per class", PerClassBarsSVG.render(report.perClass)),
        ]
        if !input.members.isEmpty {
            sections.insert(section("Ensemble and members", membersTable(report, input.members)), at: 1)
        }
        if !input.epochs.isEmpty {
            sections.append(section("Training curves", TrainingCurvesSVG.render(input.epochs)))
        }
        if !input.topLosses.isEmpty {
            sections.append(section("Top losses", gallery(input.topLosses)))
        }
        return """
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8"/>
            <meta name="viewport" content="width=device-width, initial-scale=1"/>
            <title>\(htmlEscape(input.title))</title>
            <style>\(stylesheet)</style>
            </head>
            <body>
            <div class="banner" role="note"><strong>Intended use:</strong> \(htmlEscape(input.intendedUse))</div>
            <main>
            <h1>\(htmlEscape(input.title))</h1>
            \(sections.joined(separator: "\n"))
            </main>
            </body>
            </html>

            """
    }

    /// One row per member and one for the ensemble, the headline metrics side by side.
    private static func membersTable(_ ensemble: EvaluationReport, _ members: [(name: String, report: EvaluationReport)]) -> String {
        func cell(_ value: Double?) -> String { value.map { String(format: "%.4f", $0) } ?? "n/a" }
        let rows = ([("ensemble", ensemble)] + members.map { ($0.name, $0.report) }).map { name, r in
            "<tr><td>\(htmlEscape(name))</td><td>\(r.images)</td><td>\(cell(r.accuracy))</td><td>\(cell(r.balancedAccuracy))</td>"
                + "<td>\(cell(r.macroAUC))</td><td>\(cell(r.macroF1))</td></tr>"
        }
        return "<table><thead><tr><th>model</th><th>images</th><th>accuracy</th><th>balanced accuracy</th><th>macro AUC</th>"
            + "<th>macro F1</th></tr></thead><tbody>\(rows.joined())</tbody></table>"
    }

    private static func section(_ heading: String, _ content: String) -> String {
        "<section><h2>\(htmlEscape(heading))</h2>\n\(content)</section>"
    }

    private static func summaryTable(_ report: EvaluationReport) -> String {
        var rows: [(String, String, Bool)] = [
            ("Images", String(report.images), false),
            ("Accuracy", formatMetric(report.accuracy), false),
            ("Balanced accuracy (ISIC ranking metric)", formatMetric(report.balancedAccuracy), true),
            ("Macro F1", formatMetric(report.macroF1), false),
            ("Weighted F1", formatMetric(report.weightedF1), false),
            ("Macro AUC (one-vs-rest)", formatMetric(report.macroAUC), false),
            ("Expected calibration error", formatMetric(report.expectedCalibrationError), false),
            ("Brier score", formatMetric(report.brierScore), false),
        ]
        if let melanoma = report.melanoma {
            rows += [
                ("Melanoma sensitivity at 80% specificity", formatMetric(melanoma.sensitivityAtSpecificity80), false),
                ("Melanoma sensitivity at 90% specificity", formatMetric(melanoma.sensitivityAtSpecificity90), false),
                ("Melanoma sensitivity at 95% specificity", formatMetric(melanoma.sensitivityAtSpecificity95), false),
            ]
        }
        let body = rows.map { name, value, key in
            "<tr\(key ? " class=\"key\"" : "")><th scope=\"row\">\(htmlEscape(name))</th><td>\(value)</td></tr>"
        }
        return "<table class=\"summary\">\n" + body.joined(separator: "\n") + "\n</table>"
    }

    private static func perClassTable(_ perClass: [ClassMetrics]) -> String {
        let header = ["Class", "Support", "Precision", "Recall", "Specificity", "F1", "AUC", "AP"]
            .map { "<th scope=\"col\">\($0)</th>" }.joined()
        let rows = perClass.map { c in
            "<tr><th scope=\"row\">\(htmlEscape(c.name))</th><td>\(c.support)</td>"
                + [c.precision, c.recall, c.specificity, c.f1, c.auc, c.averagePrecision]
                    .map { "<td>\(formatMetric($0))</td>" }.joined() + "</tr>"
        }
        return "<table>\n<thead><tr>\(header)</tr></thead>\n<tbody>\n" + rows.joined(separator: "\n") + "\n</tbody>\n</table>"
    }

    private static func gallery(_ losses: [(imageID: String, trueClass: String, predicted: String, confidence: Double, thumbnailJPEG: Data?)]) -> String {
        let figures = losses.map { loss in
            let picture = loss.thumbnailJPEG.map {
                "<img src=\"data:image/jpeg;base64,\($0.base64EncodedString())\" alt=\"\(htmlEscape("Thumbnail of " + loss.imageID))\"/>"
            } ?? "<div class=\"no-thumbnail\">no thumbnail</div>"
            return "<figure>\(picture)<figcaption><strong>\(htmlEscape(loss.imageID))</strong><br/>true: \(htmlEscape(loss.trueClass))<br/>predicted: \(htmlEscape(loss.predicted))<br/>confidence: \(formatMetric(loss.confidence))</figcaption></figure>"
        }
        return "<p>The wrong predictions the model was most confident in.</p>\n<div class=\"gallery\">\n"
            + figures.joined(separator: "\n") + "\n</div>"
    }

    /// Dark text on white (contrast well above WCAG AA) and the Okabe–Ito blue for highlights. No `<` or `&`
    /// in it, so the `<style>` element is valid XML without a CDATA section.
    private static let stylesheet = """
        body { margin: 0; font-family: system-ui, sans-serif; color: #1a1a1a; background: #ffffff; line-height: 1.4; }
        main { max-width: 1100px; margin: 0 auto; padding: 0 1rem 2rem; }
        .banner { position: sticky; top: 0; z-index: 1; background: #fff4d6; color: #1a1a1a; border-bottom: 2px solid #b36b00; padding: 0.6rem 1rem; }
        h1 { font-size: 1.5rem; } h2 { font-size: 1.2rem; border-bottom: 1px solid #cccccc; margin-top: 2rem; }
        table { border-collapse: collapse; margin: 0.5rem 0; }
        th, td { padding: 0.25rem 0.75rem; border-bottom: 1px solid #dddddd; text-align: right; font-variant-numeric: tabular-nums; }
        th[scope="row"] { text-align: left; font-weight: normal; }
        tr.key { background: #dcebf7; font-weight: bold; } tr.key th { font-weight: bold; }
        svg { max-width: 100%; height: auto; display: block; margin: 0.5rem 0; }
        svg text { font-size: 12px; fill: #1a1a1a; }
        svg .axis-title { font-size: 13px; }
        svg .grid { stroke: #e3e3e3; stroke-width: 1; }
        svg .frame { fill: none; stroke: #555555; stroke-width: 1; }
        svg .diagonal { stroke: #666666; stroke-width: 1; stroke-dasharray: 4 4; }
        svg .series { fill: none; stroke-width: 2; }
        svg .bar { fill: #0072B2; fill-opacity: 0.8; stroke: #ffffff; }
        svg .bar-count { fill: #555555; stroke: #ffffff; }
        .gallery { display: flex; flex-wrap: wrap; gap: 1rem; }
        figure { margin: 0; width: 180px; font-size: 0.85rem; }
        figure img { width: 180px; height: auto; display: block; border: 1px solid #cccccc; }
        .no-thumbnail { width: 180px; height: 120px; background: #eeeeee; color: #444444; display: flex; align-items: center; justify-content: center; }
        """
}
