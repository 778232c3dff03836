import CDNNL

/// Inverted dropout: in training, zeroes each element with probability `p` and scales the
/// rest by 1/(1 − p), so inference is the identity. Seeded, so runs are reproducible.
public final class Dropout: Layer {
    public let probability: Float
    public var generator: SeededGenerator
    /// Rows of the whole (global) batch that come before this process's share in data-parallel
    /// training: their draws are skipped, so every sample gets the mask it would get in one
    /// process holding the whole batch, whatever the number of ranks.
    public var rowsBefore = 0
    private var savedMask: (mask: [Float], layout: Tensor)?

    public init(_ probability: Float, seed: UInt64 = 0) throws {
        guard (0..<1).contains(probability) else {
            throw NeuralNetError.invalidArgument("Dropout probability must be in [0, 1), got \(probability)")
        }
        self.probability = probability
        generator = SeededGenerator(seed: seed)
    }

    public var namedParameters: [(name: String, parameter: Parameter)] { [] }

    public func forward(_ x: Tensor, mode: Mode) throws -> Tensor {
        guard mode == .training else { savedMask = nil; return x }
        let x = try x.converted(to: x.md.retyped(dnnl_f32))  // the mask is applied in FP32 (bf16 training)
        let y = try Tensor(md: x.md)
        let scale = 1 / (1 - probability)
        let n = x.physicalCount
        var mask = [Float](repeating: 0, count: n)
        for _ in 0..<(rowsBefore * (n / max(x.shape[0], 1))) { _ = generator.nextUnit() }
        for i in 0..<n where generator.nextUnit() >= probability { mask[i] = scale }
        for i in 0..<n { y.pointer[i] = x.pointer[i] * mask[i] }
        savedMask = (mask, y)
        return y
    }

    public func backward(_ dy: Tensor, needsInputGradient: Bool) throws -> Tensor? {
        let s = try saved(savedMask, "Dropout")
        savedMask = nil
        guard needsInputGradient else { return nil }
        let gradient = try dy.converted(to: s.layout.md)
        let dx = try Tensor(md: s.layout.md)
        for i in 0..<s.mask.count { dx.pointer[i] = gradient.pointer[i] * s.mask[i] }
        return dx
    }
}
