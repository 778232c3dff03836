/// Reliability diagram: per confidence bin, the share of correct top-1 predictions as a bar against the
/// diagonal a calibrated model would follow; below it, how many images fall in each bin, since a bar over
/// three images says little.
enum ReliabilitySVG {
    static func render(bins: [ReliabilityBin]) -> String {
        let chart = SVGChart(left: 56, top: 16, width: 300, height: 260, xDomain: 0...1, yDomain: 0...1)
        let ticks = SVGChart.ticks(0...1)
        var body = chart.axes(xTicks: ticks, yTicks: ticks, xLabel: "Top-1 confidence", yLabel: "Accuracy")
        for bin in bins {
            guard let accuracy = bin.accuracy else { continue }
            body += bar(chart, from: bin.lower, to: bin.upper, height: accuracy, cssClass: "bar")
        }
        body += chart.diagonal()

        let maxCount = Double(bins.map(\.count).max() ?? 0)
        let histogram = SVGChart(
            left: chart.left, top: chart.bottom + 56, width: chart.width, height: 70,
            xDomain: 0...1, yDomain: 0...max(maxCount, 1))
        body += histogram.axes(xTicks: ticks, yTicks: [0, max(maxCount, 1)], xLabel: "Top-1 confidence", yLabel: "Images")
        for bin in bins where bin.count > 0 {
            body += bar(histogram, from: bin.lower, to: bin.upper, height: Double(bin.count), cssClass: "bar-count")
        }
        return SVG.svg(
            width: chart.left + chart.width + 20, height: histogram.bottom + 46,
            label: "Reliability diagram: accuracy per top-1 confidence bin against the diagonal of perfect calibration, with a histogram of images per bin",
            body: body)
    }

    private static func bar(_ chart: SVGChart, from lower: Double, to upper: Double, height: Double, cssClass: String) -> String {
        let x = chart.x(lower), y = chart.y(height)
        return "<rect class=\"\(cssClass)\" x=\"\(SVG.n(x))\" y=\"\(SVG.n(y))\" width=\"\(SVG.n(chart.x(upper) - x))\" height=\"\(SVG.n(chart.bottom - y))\"/>"
    }
}
