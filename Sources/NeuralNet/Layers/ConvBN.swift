import CDNNL

/// Convolution → BatchNorm → optional activation, the unit every CNN backbone here is built
/// from. Names stay those of the separate layers (`conv1.weight`, `bn1.running_var`).
///
/// Training runs the three layers one by one, each keeping what its backward needs.
/// Inference folds BatchNorm into the convolution's weights and bias and fuses the
/// activation, and optionally a residual sum, as oneDNN post-ops: one primitive and one pass
/// over memory instead of three or four. This is what makes frozen backbones cheap.
public final class ConvBN: Layer {
    public let conv: Conv2D
    public let bn: BatchNorm
    public let activation: Activation?
    /// The convolution's and BatchNorm's names in the state dict (`conv1`, `bn1`).
    public let convName: String
    public let bnName: String
    /// Folded weights, the parameter versions they came from, and a generation number that
    /// tells the convolution when to re-pack them.
    private var folded: (versions: [Int], generation: Int, weight: Tensor, bias: Tensor)?
    private var residualTrained = false

    /// The number format of inference (training always runs FP32). Set for a whole network by
    /// `Layer.run(at:)`, which checks the CPU first; `.int8` needs `quantization`.
    public internal(set) var precision = Precision.fp32
    /// The int8 weights and scales (`skinlesion quantize` makes them; int8 model files hold them).
    public var quantization: ConvQuantization?
    /// Called after every FP32 inference forward with its input and output: calibration
    /// watches the activations' ranges through it.
    public var observer: ((_ input: Tensor, _ output: Tensor) throws -> Void)?

    public init(_ conv: Conv2D, _ bn: BatchNorm, activation: Activation.Kind?, names: (conv: String, bn: String)) throws {
        guard bn.channels == conv.outChannels else {
            throw NeuralNetError.invalidArgument("\(names.bn) has \(bn.channels) channels but \(names.conv) produces \(conv.outChannels)")
        }
        self.conv = conv
        self.bn = bn
        self.activation = activation.map { Activation($0) }
        (convName, bnName) = names
    }

    public var namedParameters: [(name: String, parameter: Parameter)] {
        prefixed(convName, conv.namedParameters) + prefixed(bnName, bn.namedParameters)
    }

    public func forward(_ x: Tensor, mode: Mode) throws -> Tensor {
        try forward(x, adding: nil, mode: mode)
    }

    /// `activation(bn(conv(x)) + residual)`. In inference the result is written into the
    /// residual's buffer when its layout already matches, so callers must not reuse
    /// `residual` afterwards.
    public func forward(_ x: Tensor, adding residual: Tensor?, mode: Mode) throws -> Tensor {
        if mode == .inference {
            if precision == .int8 {
                guard let quantization else {
                    throw NeuralNetError.invalidArgument("\(convName) has no int8 weights and scales: quantize the model first")
                }
                return try conv.forwardQuantized(x, quantization, activation: activation?.kind, into: residual, name: convName)
            }
            let f = try foldedParameters()
            let fusion = Fusion(accumulate: residual != nil, activation: activation?.kind)
            let y = try conv.forwardFused(x, weight: f.weight, bias: f.bias, version: f.generation, fusion: fusion,
                                          into: residual, types: precision == .bf16 ? .bf16 : .f32)
            try observer?(x, y)
            return y
        }
        var y = try bn.forward(conv.forward(x, mode: mode), mode: mode)
        if let residual { y = try Add.forward(y, residual) }
        residualTrained = residual != nil
        return try activation?.forward(y, mode: mode) ?? y
    }

    public func backward(_ dy: Tensor, needsInputGradient: Bool) throws -> Tensor? {
        try backwardWithResidual(dy, needsInputGradient: needsInputGradient).input
    }

    /// Gradients for the input and, when the forward added a residual, for the residual.
    public func backwardWithResidual(_ dy: Tensor, needsInputGradient: Bool) throws -> (input: Tensor?, residual: Tensor?) {
        let afterActivation = try activation?.backward(dy, needsInputGradient: true) ?? dy
        let residualGradient = residualTrained ? Add.backward(afterActivation).1 : nil
        let afterBN = try bn.backward(afterActivation, needsInputGradient: true)!
        return (try conv.backward(afterBN, needsInputGradient: needsInputGradient), residualGradient)
    }

    /// The convolution's weight and bias with BatchNorm folded in, exactly as inference runs
    /// them (exporters write these, so another runtime computes what this one does).
    public func inferenceParameters() throws -> (weight: [Float], bias: [Float]) {
        let folded = try foldedParameters()
        return (try folded.weight.toArray(), try folded.bias.toArray())
    }

    /// Sets the parameters so that inference computes exactly `weight` and `bias` as the
    /// folded convolution: BatchNorm becomes the identity (mean 0, variance 1 − ε, γ = 1)
    /// followed by the shift β = bias, the convolution's own bias 0. An int8 model file holds
    /// only folded weights; this is how its FP32 layers (Grad-CAM's backward pass) run them.
    public func assignFolded(weight: [Float], bias: [Float]) throws {
        try conv.weight.assign(weight)
        try conv.bias?.assign([Float](repeating: 0, count: conv.outChannels))
        try bn.runningMean.assign([Float](repeating: 0, count: bn.channels))
        try bn.runningVar.assign([Float](repeating: 1 - bn.epsilon, count: bn.channels))
        try bn.weight.assign([Float](repeating: 1, count: bn.channels))
        try bn.bias.assign(bias)
    }

    /// W'[o] = W[o]·s[o] and b'[o] = b[o]·s[o] + t[o], with BatchNorm's inference affine
    /// y = s·x + t; recomputed only when a weight or statistic changed.
    private func foldedParameters() throws -> (generation: Int, weight: Tensor, bias: Tensor) {
        let versions = ([conv.weight, bn.weight, bn.bias, bn.runningMean, bn.runningVar] + (conv.bias.map { [$0] } ?? [])).map(\.version)
        if let folded, folded.versions == versions { return (folded.generation, folded.weight, folded.bias) }
        let (scale, shift) = bn.inferenceAffine()
        let perOutput = conv.weight.count / conv.outChannels
        let source = conv.weight.values
        var weight = [Float](repeating: 0, count: source.count)
        for o in 0..<conv.outChannels {
            for i in 0..<perOutput { weight[o * perOutput + i] = source[o * perOutput + i] * scale[o] }
        }
        let convBias = conv.bias?.values ?? [Float](repeating: 0, count: conv.outChannels)
        let bias = (0..<conv.outChannels).map { convBias[$0] * scale[$0] + shift[$0] }
        let generation = (folded?.generation ?? 0) + 1
        let result = (generation, try Tensor(shape: conv.weight.shape, values: weight),
                      try Tensor(shape: [conv.outChannels], values: bias))
        folded = (versions, result.0, result.1, result.2)
        return result
    }
}
