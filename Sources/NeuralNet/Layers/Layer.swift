/// Whether a forward pass prepares for a backward pass.
public enum Mode: Sendable {
    /// No activations are kept; BatchNorm uses running statistics; dropout is the identity.
    case inference
    /// Each layer keeps what its backward pass needs; BatchNorm uses batch statistics.
    case training
}

/// A network piece that owns its forward and its backward pass, side by side.
///
/// There is no general autograd tape: each layer remembers what its backward needs during a
/// training forward and forgets it after the backward (or at the next forward).
public protocol Layer: AnyObject {
    /// State tensors by state-dict name relative to this layer (`weight`, `bn1.running_var`).
    var namedParameters: [(name: String, parameter: Parameter)] { get }

    func forward(_ x: Tensor, mode: Mode) throws -> Tensor

    /// Sets the gradients of this layer's trainable parameters from `dy`, the gradient of the
    /// loss with respect to the last training forward's output, and returns the gradient with
    /// respect to its input when `needsInputGradient` (nil otherwise: the first trainable
    /// layer of a fine-tuned network has nobody to pass it to).
    func backward(_ dy: Tensor, needsInputGradient: Bool) throws -> Tensor?
}

extension Layer {
    public var parameters: [Parameter] { namedParameters.map(\.parameter) }

    /// True when at least one weight would receive a gradient.
    public var isTrainable: Bool { parameters.contains { $0.trainable } }

    /// Freezes (or unfreezes) every weight of this layer.
    public func setFrozen(_ frozen: Bool) {
        for p in parameters where p.kind == .weight { p.frozen = frozen }
    }
}

/// Prefixes child names the way PyTorch's state dicts do (`layer1` + `0.conv1.weight`).
func prefixed(_ prefix: String, _ children: [(name: String, parameter: Parameter)])
    -> [(name: String, parameter: Parameter)] {
    guard !prefix.isEmpty else { return children }
    return children.map { (prefix + "." + $0.name, $0.parameter) }
}

/// Shared input validation: every layer names itself and the shape it expected.
func requireRank(_ x: Tensor, _ rank: Int, _ layer: String) throws {
    guard x.shape.count == rank else {
        throw NeuralNetError.invalidShape("\(layer) expects a \(rank)-D input, got shape \(x.shape)")
    }
}

/// Throws unless a training forward has left what the backward pass needs.
func saved<T>(_ value: T?, _ layer: String) throws -> T {
    guard let value else {
        throw NeuralNetError.invalidArgument("\(layer).backward called without a training-mode forward before it")
    }
    return value
}
