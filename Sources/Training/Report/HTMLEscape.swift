import Foundation

/// Escapes text for HTML text and quoted attributes alike. Class names, image ids and titles come from user
/// data, so every one of them goes through here: a class named `<script>` is shown, never run, and the report
/// stays well-formed XHTML. Characters XML forbids (C0 controls other than tab, newline, carriage return)
/// become U+FFFD rather than making the whole file unparsable.
func htmlEscape(_ text: String) -> String {
    var out = ""
    out.reserveCapacity(text.utf8.count)
    for scalar in text.unicodeScalars {
        switch scalar {
        case "&": out += "&amp;"
        case "<": out += "&lt;"
        case ">": out += "&gt;"
        case "\"": out += "&quot;"
        case "'": out += "&#39;"
        case "\t", "\n", "\r": out.unicodeScalars.append(scalar)
        case _ where scalar.value < 0x20 || scalar.value == 0xFFFE || scalar.value == 0xFFFF: out += "\u{FFFD}"
        default: out.unicodeScalars.append(scalar)
        }
    }
    return out
}

/// A metric as printed everywhere in the report: three decimals, so numbers read the same in the tables, the
/// legends and the captions; "—" where the metric is undefined (nil) or not finite.
func formatMetric(_ value: Double?, digits: Int = 3) -> String {
    guard let value, value.isFinite else { return "—" }
    return String(format: "%.\(digits)f", value)
}
