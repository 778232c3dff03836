/// Recall and precision side by side for each class: the minority classes a high accuracy hides show up as
/// short bars here.
enum PerClassBarsSVG {
    static func render(_ perClass: [ClassMetrics]) -> String {
        let group = 44.0, barWidth = 16.0
        let labelHeight = 10 + 5 * Double(perClass.map(\.name.count).max() ?? 1)
        let chart = SVGChart(
            left: 56, top: 16, width: group * Double(max(perClass.count, 1)), height: 220,
            xDomain: 0...Double(max(perClass.count, 1)), yDomain: 0...1)
        var body = chart.axes(xTicks: [], yTicks: SVGChart.ticks(0...1), xLabel: "", yLabel: "Score")
        for (i, metrics) in perClass.enumerated() {
            let centre = chart.x(Double(i) + 0.5)
            for (series, value) in [metrics.recall, metrics.precision].enumerated() {
                let x = centre - barWidth + Double(series) * barWidth, y = chart.y(value)
                body += "<rect x=\"\(SVG.n(x))\" y=\"\(SVG.n(y))\" width=\"\(SVG.n(barWidth))\" height=\"\(SVG.n(chart.bottom - y))\" fill=\"\(Palette.colour(series))\"/>"
            }
            body += "<text text-anchor=\"end\" transform=\"translate(\(SVG.n(centre + 4)) \(SVG.n(chart.bottom + 14))) rotate(-45)\">\(htmlEscape(metrics.name))</text>"
        }
        let legendX = chart.left + chart.width + 20
        for (series, label) in ["Recall", "Precision"].enumerated() {
            let y = chart.top + 10 + Double(series) * 18
            body += "<rect x=\"\(SVG.n(legendX))\" y=\"\(SVG.n(y - 6))\" width=\"12\" height=\"12\" fill=\"\(Palette.colour(series))\"/>"
                + SVG.text(legendX + 18, y + 4, label, anchor: "start")
        }
        return SVG.svg(
            width: legendX + 100, height: chart.bottom + labelHeight + 20,
            label: "Recall and precision per class as grouped bars", body: body)
    }
}
