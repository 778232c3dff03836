import Foundation

/// The confusion matrix as a heat map: each cell shows its count, shaded by its share of the row (the true
/// class), so recall reads along the diagonal whatever the class sizes — raw counts would let nevi, two
/// thirds of HAM10000, wash out every other row.
enum ConfusionMatrixSVG {
    static func render(classes: [String], counts: [[Int]]) -> String {
        let k = classes.count, cell = 44.0
        let labelWidth = 14 + 7 * Double(classes.map(\.count).max() ?? 1)
        let left = 30 + labelWidth, top = 20.0
        let side = cell * Double(k)
        var body = ""
        for (t, row) in counts.enumerated() {
            let total = row.reduce(0, +)
            for (p, count) in row.enumerated() {
                let share = total == 0 ? 0 : Double(count) / Double(total)
                let x = left + Double(p) * cell, y = top + Double(t) * cell
                let (fill, ink) = shade(share)
                body += "<rect x=\"\(SVG.n(x))\" y=\"\(SVG.n(y))\" width=\"\(SVG.n(cell))\" height=\"\(SVG.n(cell))\" fill=\"\(fill)\" stroke=\"#ffffff\"/>"
                body += "<text x=\"\(SVG.n(x + cell / 2))\" y=\"\(SVG.n(y + cell / 2 + 4))\" text-anchor=\"middle\" fill=\"\(ink)\">\(count)</text>"
            }
            body += SVG.text(left - 6, top + (Double(t) + 0.5) * cell + 4, classes[t], anchor: "end")
        }
        for (p, name) in classes.enumerated() {
            let x = left + (Double(p) + 0.5) * cell, y = top + side + 10
            body += "<text text-anchor=\"end\" transform=\"translate(\(SVG.n(x + 4)) \(SVG.n(y))) rotate(-45)\">\(htmlEscape(name))</text>"
        }
        let height = top + side + labelWidth * 0.75 + 30
        body += SVG.text(left + side / 2, height - 6, "Predicted class", anchor: "middle", cssClass: "axis-title")
        body += "<text class=\"axis-title\" text-anchor=\"middle\" transform=\"translate(14 \(SVG.n(top + side / 2))) rotate(-90)\">True class</text>"
        return SVG.svg(
            width: left + side + 20, height: height,
            label: "Confusion matrix: counts of true class (rows) against predicted class (columns), shaded by share of the row",
            body: body)
    }

    /// White blended towards Okabe–Ito blue by `share`, with black or white text, whichever contrasts more
    /// with that blend (WCAG relative luminance), so every count stays legible.
    private static func shade(_ share: Double) -> (fill: String, ink: String) {
        let blue = (0.0, 114.0, 178.0)
        let rgb = [blue.0, blue.1, blue.2].map { 255 - (255 - $0) * share }
        let luminance = zip([0.2126, 0.7152, 0.0722], rgb).reduce(0.0) { sum, pair in
            let c = pair.1 / 255
            return sum + pair.0 * (c <= 0.04045 ? c / 12.92 : pow((c + 0.055) / 1.055, 2.4))
        }
        // Contrast with black is (L + 0.05) / 0.05, with white 1.05 / (L + 0.05); they are equal at L ≈ 0.179.
        let ink = luminance > 0.179 ? "#000000" : "#ffffff"
        let fill = "#" + rgb.map { String(format: "%02x", Int($0.rounded())) }.joined()
        return (fill, ink)
    }
}
