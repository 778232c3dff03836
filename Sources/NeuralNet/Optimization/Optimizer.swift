/// Updates a model's trainable weights from their gradients.
///
/// Parameters come with their state-dict names because optimizer state is keyed by them:
/// `state` returns `"<parameter name>/<slot>"` entries (`layer4.0.conv1.weight/momentum`,
/// `fc.weight/exp_avg`, `fc.weight/step`) that a checkpoint stores as safetensors next to the
/// weights, and `restore` puts them back so a resumed run takes bit-identical steps. Names,
/// unlike object identities, survive a restart.
///
/// Every optimizer skips frozen weights, buffers and parameters without a gradient, and
/// applies weight decay only where `Parameter.receivesWeightDecay` says so.
public protocol Optimizer: AnyObject {
    /// The rate for the next step; schedules set it before each step.
    var learningRate: Float { get set }
    func step(_ parameters: [(name: String, parameter: Parameter)])
    /// A copy of the per-parameter state, for the given parameters only.
    func state(_ parameters: [(name: String, parameter: Parameter)]) -> [String: [Float]]
    /// Replaces all state with `state` (as returned by `state(_:)`). Throws, leaving the current
    /// state as it was, on an entry that names no slot of these parameters or has the wrong size.
    func restore(_ state: [String: [Float]], for parameters: [(name: String, parameter: Parameter)]) throws
}

extension Parameter {
    /// Whether weight decay applies: only to weights of rank ≥ 2 (convolution kernels, linear
    /// matrices). Biases and BatchNorm's scale and shift (rank 1) are left undecayed, as timm's
    /// and torchvision's training recipes do: shrinking them toward zero does not regularize,
    /// it only fights the normalization.
    public var receivesWeightDecay: Bool { shape.count > 1 }
}
