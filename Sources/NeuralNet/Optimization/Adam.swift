import Foundation

/// Adam as `torch.optim.Adam`, or with `decoupledWeightDecay` as `torch.optim.AdamW`.
///
/// Per step t, with g the gradient:
///   - Adam adds L2 decay to the gradient, g += λ·p; AdamW instead shrinks the weight first,
///     p *= 1 − lr·λ, so the decay is not rescaled by the adaptive denominator (which is why
///     AdamW regularizes as intended and is the usual choice for fine-tuning);
///   - m = β₁·m + (1 − β₁)·g, v = β₂·v + (1 − β₂)·g²;
///   - p −= lr / (1 − β₁ᵗ) · m / (√v / √(1 − β₂ᵗ) + ε).
/// The bias corrections are computed in double precision and the moment update uses `lerp`'s
/// form, m += (1 − β₁)·(g − m), as PyTorch's CPU code does. Decay of either kind applies only
/// to weights that `receivesWeightDecay`.
///
/// The state is `exp_avg` (m), `exp_avg_sq` (v) and `step` (t) per parameter: PyTorch counts
/// steps per parameter, so a stage unfrozen late starts its bias correction at t = 1.
public final class Adam: Optimizer {
    public var learningRate: Float
    public let beta1: Float
    public let beta2: Float
    public let epsilon: Float
    public let weightDecay: Float
    public let decoupledWeightDecay: Bool
    private let slots = OptimizerSlots(elementwise: ["exp_avg", "exp_avg_sq"], scalar: ["step"])

    /// PyTorch's defaults; for AdamW pass `decoupledWeightDecay: true` and a decay
    /// (`torch.optim.AdamW` defaults to 0.01).
    public init(learningRate: Float = 1e-3, beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8,
                weightDecay: Float = 0, decoupledWeightDecay: Bool = false) throws {
        guard learningRate > 0, (0..<1).contains(beta1), (0..<1).contains(beta2), epsilon >= 0, weightDecay >= 0 else {
            throw NeuralNetError.invalidArgument("Adam needs learning rate > 0, betas in [0, 1), epsilon ≥ 0, weight decay ≥ 0")
        }
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
        self.decoupledWeightDecay = decoupledWeightDecay
    }

    public func step(_ parameters: [(name: String, parameter: Parameter)]) {
        for (name, p) in parameters where p.trainable {
            guard let grad = p.grad else { continue }
            let g = grad.pointer, w = p.storage, n = p.count
            let m = slots.buffer("exp_avg", of: name, count: n)
            let v = slots.buffer("exp_avg_sq", of: name, count: n)
            let t = slots.buffer("step", of: name, count: 1)
            t[0] += 1
            let stepSize = Float(Double(learningRate) / (1 - pow(Double(beta1), Double(t[0]))))
            let correction2 = Float((1 - pow(Double(beta2), Double(t[0]))).squareRoot())
            let decay = p.receivesWeightDecay ? weightDecay : 0
            let l2 = decoupledWeightDecay ? 0 : decay
            if decoupledWeightDecay && decay > 0 {
                let shrink = Float(1 - Double(learningRate) * Double(decay))
                for i in 0..<n { w[i] *= shrink }
            }
            for i in 0..<n {
                let gi = g[i] + l2 * w[i]
                m[i] += (1 - beta1) * (gi - m[i])
                v[i] = v[i] * beta2 + (1 - beta2) * gi * gi
                w[i] -= stepSize * m[i] / (v[i].squareRoot() / correction2 + epsilon)
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
