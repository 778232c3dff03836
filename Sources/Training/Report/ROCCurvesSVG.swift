/// One-vs-rest ROC curves of every class on one chart, with the chance diagonal, and each class's AUC in
/// the legend so the curve and its summary number are read together.
enum ROCCurvesSVG {
    static func render(curves: [(className: String, points: [(fpr: Double, tpr: Double)])], auc: (String) -> Double?) -> String {
        let chart = SVGChart(left: 56, top: 16, width: 300, height: 300, xDomain: 0...1, yDomain: 0...1)
        let ticks = SVGChart.ticks(0...1)
        var body = chart.axes(xTicks: ticks, yTicks: ticks, xLabel: "False positive rate (1 − specificity)",
                              yLabel: "True positive rate (sensitivity)")
        body += chart.diagonal()
        for (i, curve) in curves.enumerated() {
            body += chart.polyline(curve.points.map { ($0.fpr, $0.tpr) }, series: i)
        }
        let labels = curves.map { "\($0.className) (AUC \(formatMetric(auc($0.className))))" }
        body += SVGChart.legend(labels, x: chart.left + chart.width + 20, y: chart.top + 10)
        let legendWidth = 60 + 7 * Double(labels.map(\.count).max() ?? 0)
        return SVG.svg(
            width: chart.left + chart.width + 20 + legendWidth, height: chart.bottom + 46,
            label: "One-vs-rest ROC curves per class with the chance diagonal; AUC of each class in the legend",
            body: body)
    }
}
