/// A failure that leaves nothing to load: the path is not there, the format cannot be recognised, the CSV
/// lacks a required column or exceeds the size bounds. It names the file (and line) so the user can fix it.
public struct DatasetError: Error, CustomStringConvertible, Sendable {
    public let file: String
    public let line: Int?
    public let message: String

    public init(file: String, line: Int? = nil, message: String) {
        self.file = file
        self.line = line
        self.message = message
    }

    public var description: String {
        "\(file)\(line.map { ":\($0)" } ?? ""): \(message)"
    }
}
