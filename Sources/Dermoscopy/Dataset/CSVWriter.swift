import Foundation

/// The writing half of `CSVReader`'s dialect: fields that could be misread (separators, quotes, line
/// breaks, surrounding spaces) are quoted, so anything written reads back unchanged. Every CSV the tool
/// writes (manifests, predictions, ISIC submissions) goes through it.
public enum CSVWriter {
    public static func line(_ fields: [String]) -> String {
        fields.map(quotedIfNeeded).joined(separator: ",")
    }

    private static func quotedIfNeeded(_ field: String) -> String {
        let needsQuotes = field.utf8.contains { $0 == UInt8(ascii: ",") || $0 == UInt8(ascii: "\"") || $0 == 0x0A || $0 == 0x0D }
            || CSVReader.hasSurroundingWhitespace(field)
        guard needsQuotes else { return field }
        // Quotes doubled scalar by scalar: String's own search works on characters, and a quote
        // followed by a combining mark (U+0749 …) is one character, so it was left single and the
        // field read back changed (found by the split-manifest fuzz target).
        var quoted = String.UnicodeScalarView()
        quoted.append("\"")
        for scalar in field.unicodeScalars {
            if scalar == "\"" { quoted.append(scalar) }
            quoted.append(scalar)
        }
        quoted.append("\"")
        return String(quoted)
    }
}
