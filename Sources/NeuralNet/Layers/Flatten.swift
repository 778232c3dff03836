/// `[N, C, H, W]` → `[N, C·H·W]` in channel-major (C, H, W) order, as `torch.flatten(x, 1)`
/// does: the bridge from VGG's last feature map to its fully connected layers. Keras's
/// `Flatten` walks (H, W, C) instead; weight import permutes the rows of the first Dense
/// kernel rather than this layer changing its order.
public final class Flatten: Layer {
    private var savedShape: [Int]?

    public init() {}

    public var namedParameters: [(name: String, parameter: Parameter)] { [] }

    public func forward(_ x: Tensor, mode: Mode) throws -> Tensor {
        try requireRank(x, 4, "Flatten")
        savedShape = mode == .training ? x.shape : nil
        return try x.reshaped([x.shape[0], x.shape[1] * x.shape[2] * x.shape[3]])
    }

    /// The gradient is the output gradient read back in the input's shape.
    public func backward(_ dy: Tensor, needsInputGradient: Bool) throws -> Tensor? {
        let shape = try saved(savedShape, "Flatten")
        savedShape = nil
        guard needsInputGradient else { return nil }
        let expected = [shape[0], shape.dropFirst().reduce(1, *)]
        guard dy.shape == expected else {
            throw NeuralNetError.invalidShape("Flatten gradient must be \(expected), got \(dy.shape)")
        }
        return try dy.reshaped(shape)
    }
}
