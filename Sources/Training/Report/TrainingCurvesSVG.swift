/// Training curves side by side: train and validation loss (a widening gap is overfitting) and validation
/// balanced accuracy, the metric checkpoints are chosen by, per epoch.
enum TrainingCurvesSVG {
    static func render(_ epochs: [EpochRecord]) -> String {
        let first = Double(epochs.map(\.epoch).min() ?? 1), last = Double(epochs.map(\.epoch).max() ?? 1)
        let xDomain = first...max(last, first + 1)
        let xTicks = SVGChart.ticks(xDomain).filter { $0 == $0.rounded() }
        let losses = epochs.flatMap { [$0.trainLoss, $0.valLoss] }.filter(\.isFinite)
        let lossTop = max((losses.max() ?? 1) * 1.05, 1e-6)

        let loss = SVGChart(left: 56, top: 16, width: 280, height: 200, xDomain: xDomain, yDomain: 0...lossTop)
        var body = loss.axes(xTicks: xTicks, yTicks: SVGChart.ticks(0...lossTop), xLabel: "Epoch", yLabel: "Loss")
        body += loss.polyline(epochs.map { (Double($0.epoch), $0.trainLoss) }, series: 0, markers: true)
        body += loss.polyline(epochs.map { (Double($0.epoch), $0.valLoss) }, series: 1, markers: true)
        body += SVGChart.legend(["Train loss", "Validation loss"], x: loss.left + 10, y: loss.bottom + 56)

        let accuracy = SVGChart(left: loss.left + loss.width + 90, top: 16, width: 280, height: 200, xDomain: xDomain, yDomain: 0...1)
        body += accuracy.axes(xTicks: xTicks, yTicks: SVGChart.ticks(0...1), xLabel: "Epoch", yLabel: "Validation balanced accuracy")
        body += accuracy.polyline(epochs.map { (Double($0.epoch), $0.valBalancedAccuracy) }, series: 2, markers: true)
        return SVG.svg(
            width: accuracy.left + accuracy.width + 20, height: loss.bottom + 96,
            label: "Training curves: train and validation loss, and validation balanced accuracy, per epoch",
            body: body)
    }
}
