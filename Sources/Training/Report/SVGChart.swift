import Foundation

/// Okabe & Ito's colour-blind-safe palette, ordered for contrast on white (yellow last: a thin yellow line is
/// barely visible). Each series also gets a dash pattern, so curves stay apart in greyscale print and for
/// readers who cannot tell two of the colours apart.
enum Palette {
    static let colours = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442"]
    private static let dashes = ["", "7 3", "2 3", "9 3 2 3"]

    static func colour(_ series: Int) -> String { colours[series % colours.count] }
    static func dash(_ series: Int) -> String { dashes[series % dashes.count] }
}

/// One rectangular plot area inside an inline SVG, mapping data coordinates to SVG user units, plus the
/// axes, polylines and legends that every line or bar plot of the report shares.
struct SVGChart {
    let left: Double, top: Double, width: Double, height: Double
    let xDomain: ClosedRange<Double>, yDomain: ClosedRange<Double>

    func x(_ value: Double) -> Double { left + (value - xDomain.lowerBound) / Self.span(xDomain) * width }
    func y(_ value: Double) -> Double { top + height - (value - yDomain.lowerBound) / Self.span(yDomain) * height }
    var bottom: Double { top + height }

    /// A zero-width domain (one epoch, a constant loss) would divide by 0; it is drawn as if one unit wide.
    private static func span(_ domain: ClosedRange<Double>) -> Double {
        domain.upperBound > domain.lowerBound ? domain.upperBound - domain.lowerBound : 1
    }

    /// Frame, light grid lines at the ticks, tick labels and axis titles.
    func axes(xTicks: [Double], yTicks: [Double], xLabel: String, yLabel: String) -> String {
        var svg = ""
        for t in yTicks {
            svg += SVG.line(left, y(t), left + width, y(t), "grid")
            svg += SVG.text(left - 6, y(t) + 4, Self.tickLabel(t), anchor: "end")
        }
        for t in xTicks {
            svg += SVG.line(x(t), top, x(t), bottom, "grid")
            svg += SVG.text(x(t), bottom + 16, Self.tickLabel(t), anchor: "middle")
        }
        svg += "<rect class=\"frame\" x=\"\(SVG.n(left))\" y=\"\(SVG.n(top))\" width=\"\(SVG.n(width))\" height=\"\(SVG.n(height))\"/>"
        svg += SVG.text(left + width / 2, bottom + 34, xLabel, anchor: "middle", cssClass: "axis-title")
        let cy = top + height / 2, cx = left - 42
        svg += "<text class=\"axis-title\" text-anchor=\"middle\" transform=\"translate(\(SVG.n(cx)) \(SVG.n(cy))) rotate(-90)\">"
            + htmlEscape(yLabel) + "</text>"
        return svg
    }

    /// The y = x line: perfect calibration, or a classifier no better than chance on a ROC plot.
    func diagonal() -> String {
        let lo = max(xDomain.lowerBound, yDomain.lowerBound), hi = min(xDomain.upperBound, yDomain.upperBound)
        return "<line class=\"diagonal\" x1=\"\(SVG.n(x(lo)))\" y1=\"\(SVG.n(y(lo)))\" x2=\"\(SVG.n(x(hi)))\" y2=\"\(SVG.n(y(hi)))\"/>"
    }

    /// Non-finite points (a diverged loss) are left out rather than drawn off the chart.
    func polyline(_ points: [(x: Double, y: Double)], series: Int, markers: Bool = false) -> String {
        let finite = points.filter { $0.x.isFinite && $0.y.isFinite }
        let coordinates = finite.map { "\(SVG.n(x($0.x))),\(SVG.n(y($0.y)))" }.joined(separator: " ")
        let dash = Palette.dash(series)
        var svg = "<polyline class=\"series\" stroke=\"\(Palette.colour(series))\""
            + (dash.isEmpty ? "" : " stroke-dasharray=\"\(dash)\"") + " points=\"\(coordinates)\"/>"
        if markers {
            for p in finite {
                svg += "<circle cx=\"\(SVG.n(x(p.x)))\" cy=\"\(SVG.n(y(p.y)))\" r=\"2.5\" fill=\"\(Palette.colour(series))\"/>"
            }
        }
        return svg
    }

    /// Legend entries stacked from (x, y), each a short sample of its series' line style.
    static func legend(_ labels: [String], x: Double, y: Double) -> String {
        labels.enumerated().map { i, label in
            let rowY = y + Double(i) * 18
            let dash = Palette.dash(i)
            return "<line class=\"series\" stroke=\"\(Palette.colour(i))\""
                + (dash.isEmpty ? "" : " stroke-dasharray=\"\(dash)\"")
                + " x1=\"\(SVG.n(x))\" y1=\"\(SVG.n(rowY))\" x2=\"\(SVG.n(x + 24))\" y2=\"\(SVG.n(rowY))\"/>"
                + SVG.text(x + 30, rowY + 4, label, anchor: "start")
        }.joined()
    }

    /// About `count` evenly spaced round values (steps of 1, 2 or 5 × 10ⁿ) covering `domain`.
    static func ticks(_ domain: ClosedRange<Double>, count: Int = 5) -> [Double] {
        let span = domain.upperBound - domain.lowerBound
        guard span > 0, span.isFinite else { return [domain.lowerBound] }
        let raw = span / Double(count)
        let magnitude = pow(10, floor(log10(raw)))
        let step = [1.0, 2, 5, 10].map { $0 * magnitude }.first { $0 >= raw } ?? raw
        let first = ceil(domain.lowerBound / step - 1e-9)
        return stride(from: first * step, through: domain.upperBound + step * 1e-9, by: step).map { $0 }
    }

    static func tickLabel(_ value: Double) -> String { String(format: "%g", abs(value) < 1e-12 ? 0 : value) }
}

/// Element builders for the plots; coordinates are written with one decimal — finer than any screen
/// resolves, and it keeps the file small.
enum SVG {
    static func n(_ value: Double) -> String { String(format: "%.1f", value) }

    static func line(_ x1: Double, _ y1: Double, _ x2: Double, _ y2: Double, _ cssClass: String) -> String {
        "<line class=\"\(cssClass)\" x1=\"\(n(x1))\" y1=\"\(n(y1))\" x2=\"\(n(x2))\" y2=\"\(n(y2))\"/>"
    }

    static func text(_ x: Double, _ y: Double, _ content: String, anchor: String, cssClass: String? = nil) -> String {
        "<text" + (cssClass.map { " class=\"\($0)\"" } ?? "") + " x=\"\(n(x))\" y=\"\(n(y))\" text-anchor=\"\(anchor)\">"
            + htmlEscape(content) + "</text>"
    }

    /// A whole `<svg>` element: role="img" with an aria-label and a `<title>`, which screen readers announce
    /// in place of the drawing, and a viewBox so the plot scales with the page.
    static func svg(width: Double, height: Double, label: String, body: String) -> String {
        "<svg role=\"img\" aria-label=\"\(htmlEscape(label))\" viewBox=\"0 0 \(n(width)) \(n(height))\" width=\"\(n(width))\">"
            + "<title>\(htmlEscape(label))</title>" + body + "</svg>\n"
    }
}
