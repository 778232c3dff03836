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
