/// Stochastic gradient descent with optional momentum and Nesterov momentum, PyTorch's
/// formulation (v = μ·v + g; p −= lr·v, or lr·(g + μ·v) with Nesterov), and weight decay
/// added to the gradient of weights that `receivesWeightDecay`. Skips frozen weights and
/// parameters without a gradient. Its state is one `momentum` slot per parameter.
public final class SGD: Optimizer {
    public var learningRate: Float
    public let momentum: Float
    public let nesterov: Bool
    public let weightDecay: Float
    private let slots = OptimizerSlots(elementwise: ["momentum"])

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

    public func step(_ parameters: [(name: String, parameter: Parameter)]) {
        for (name, p) in parameters where p.trainable {
            guard let grad = p.grad else { continue }
            let g = grad.pointer, w = p.storage, n = p.count
            let decay = p.receivesWeightDecay ? weightDecay : 0
            if momentum == 0 {
                for i in 0..<n { w[i] -= learningRate * (g[i] + decay * w[i]) }
            } else {
                let v = slots.buffer("momentum", of: name, count: n)
                for i in 0..<n {
                    let d = g[i] + decay * w[i]
                    v[i] = momentum * v[i] + d
                    w[i] -= learningRate * (nesterov ? d + momentum * v[i] : v[i])
                }
            }
            p.markUpdated()
        }
    }

    public func state(_ parameters: [(name: String, parameter: Parameter)]) -> [String: [Float]] {
        slots.state(parameters)
    }

    public func restore(_ state: [String: [Float]], for parameters: [(name: String, parameter: Parameter)]) throws {
        try slots.restore(state, for: parameters)
    }
}
