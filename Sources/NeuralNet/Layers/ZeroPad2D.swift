/// Pads height and width with zeros (Keras's `ZeroPadding2D`). Convolutions take their zero
/// padding as an argument instead; this layer exists for max pooling after a layer that can
/// output negative values (ResNet50V2's stem), where Keras's zeros can win a window and
/// oneDNN's own pooling padding (which never wins) would give a different answer.
public final class ZeroPad2D: Layer {
    /// Rows added at the top and bottom, columns at the left and right.
    public let top: Int, bottom: Int, left: Int, right: Int
    private var savedShape: [Int]?

    public init(top: Int, bottom: Int, left: Int, right: Int) throws {
        guard [top, bottom, left, right].allSatisfy({ $0 >= 0 }) else {
            throw NeuralNetError.invalidArgument("ZeroPad2D padding must be non-negative, got \([top, bottom, left, right])")
        }
        (self.top, self.bottom, self.left, self.right) = (top, bottom, left, right)
    }

    public convenience init(_ padding: Int) throws {
        try self.init(top: padding, bottom: padding, left: padding, right: padding)
    }

    public var namedParameters: [(name: String, parameter: Parameter)] { [] }

    /// A zero plain tensor of the padded size with `x` copied into its interior (a oneDNN
    /// reorder into a sub-memory view).
    public func forward(_ x: Tensor, mode: Mode) throws -> Tensor {
        try requireRank(x, 4, "ZeroPad2D")
        let padded = [x.shape[0], x.shape[1], x.shape[2] + top + bottom, x.shape[3] + left + right]
        let y = try Tensor(zeros: x.md.sameLayout(dims: padded))
        try reorder(from: x, to: y.subTensor(dims: x.shape, offsets: [0, 0, top, left]))
        y.scale = x.scale  // zero is zero at any scale (int8 networks are quantized symmetrically)
        savedShape = mode == .training ? x.shape : nil
        return y
    }

    /// The interior of the output gradient: padded positions depend on no input.
    public func backward(_ dy: Tensor, needsInputGradient: Bool) throws -> Tensor? {
        let shape = try saved(savedShape, "ZeroPad2D")
        savedShape = nil
        guard needsInputGradient else { return nil }
        let expected = [shape[0], shape[1], shape[2] + top + bottom, shape[3] + left + right]
        guard dy.shape == expected else {
            throw NeuralNetError.invalidShape("ZeroPad2D gradient must be \(expected), got \(dy.shape)")
        }
        let dx = try Tensor(md: dy.md.sameLayout(dims: shape))
        try reorder(from: dy.subTensor(dims: shape, offsets: [0, 0, top, left]), to: dx)
        return dx
    }
}
