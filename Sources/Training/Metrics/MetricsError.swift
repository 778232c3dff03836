/// An input that metrics or calibration cannot be computed from. `field` names the argument at fault
/// (`labels`, `probabilities`, `logits`, `classes`) and `message` says what was expected, so the evaluate
/// command can print it as it is.
public struct MetricsError: Error, CustomStringConvertible, Equatable, Sendable {
    public let field: String
    public let message: String

    public init(field: String, message: String) {
        self.field = field
        self.message = message
    }

    public var description: String { "\(field): \(message)" }
}

extension MetricsError {
    /// Checks shared by every per-image score matrix: at least one image, `count` values forming a
    /// row-major [images, classes] matrix, and every label a class index.
    static func checkRows(_ count: Int, field: String, labels: [Int], classes: Int) throws {
        guard !labels.isEmpty else {
            throw MetricsError(field: "labels", message: "expected at least 1 image, got none")
        }
        guard count == labels.count * classes else {
            throw MetricsError(
                field: field,
                message: "expected \(labels.count) images × \(classes) classes = \(labels.count * classes) values (row-major [images, classes]), got \(count)")
        }
        if let bad = labels.firstIndex(where: { !(0..<classes).contains($0) }) {
            throw MetricsError(field: "labels", message: "labels[\(bad)] is \(labels[bad]); expected a class index in 0..<\(classes)")
        }
    }
}
