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
        return needsQuotes ? "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : field
    }
}
