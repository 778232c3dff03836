/// Errors a caller can cause: wrong shapes, wrong sizes, bad configuration. Each message
/// names the layer or parameter and says what was expected.
public enum NeuralNetError: Error, CustomStringConvertible, Equatable {
    case invalidShape(String)
    case invalidArgument(String)

    public var description: String {
        switch self {
        case .invalidShape(let message): return "shape error: \(message)"
        case .invalidArgument(let message): return "invalid argument: \(message)"
        }
    }
}
