/// Stochastic gradient descent with optional momentum and Nesterov momentum, PyTorch's
/// formulation (v = μ·v + g; p −= lr·v, or lr·(g + μ·v) with Nesterov), and weight decay
/// added to the gradient. Skips frozen weights and parameters without a gradient.
public final class SGD {
    public var learningRate: Float
    public let momentum: Float
    public let nesterov: Bool
    public let weightDecay: Float
    /// Momentum buffers, one per parameter, updated in place (a copied 100 MB array per step
    /// would cost more than the update itself).
    private var velocity: [ObjectIdentifier: UnsafeMutableBufferPointer<Float>] = [:]

    public init(learningRate: Float, momentum: Float = 0, nesterov: Bool = false, weightDecay: Float = 0) throws {
        guard learningRate > 0, (0..<1).contains(momentum), weightDecay >= 0 else {
            throw NeuralNetError.invalidArgument("SGD needs learning rate > 0, momentum in [0, 1), weight decay ≥ 0")
        }
        guard !nesterov || momentum > 0 else { throw NeuralNetError.invalidArgument("Nesterov momentum needs momentum > 0") }
        self.learningRate = learningRate
        self.momentum = momentum
        self.nesterov = nesterov
        self.weightDecay = weightDecay
    }

    deinit { velocity.values.forEach { $0.deallocate() } }

    public func step(_ parameters: [Parameter]) {
        for p in parameters where p.trainable {
            guard let grad = p.grad else { continue }
            let g = grad.pointer, w = p.storage, n = p.count
            if momentum == 0 {
                for i in 0..<n { w[i] -= learningRate * (g[i] + weightDecay * w[i]) }
            } else {
                let v = velocity[ObjectIdentifier(p)] ?? {
                    let buffer = UnsafeMutableBufferPointer<Float>.allocate(capacity: n)
                    buffer.initialize(repeating: 0)
                    velocity[ObjectIdentifier(p)] = buffer
                    return buffer
                }()
                for i in 0..<n {
                    let d = g[i] + weightDecay * w[i]
                    v[i] = momentum * v[i] + d
                    w[i] -= learningRate * (nesterov ? d + momentum * v[i] : v[i])
                }
            }
            p.markUpdated()
        }
    }
}
