import NeuralNet

/// The pre-activation bottleneck of Keras's `ResNet50V2` (He et al. 2016, "Identity Mappings
/// in Deep Residual Networks"): BatchNorm-ReLU first, then 1×1 conv → BN-ReLU → 3×3 conv
/// (carrying the stride) → BN-ReLU → 1×1 conv, plus a shortcut. There is no activation after
/// the sum; the next block's pre-activation is it.
///
/// The shortcut is, as in Keras: a 1×1 convolution of the *pre-activated* input in a stage's
/// first block; a 1×1 max pool with the stride (plain subsampling) of the *raw* input in a
/// stage's strided last block; the raw input otherwise.
///
/// Names are timm `resnetv2_50`'s (`downsample.conv`, `norm1`, `conv1`, `norm2`, `conv2`,
/// `norm3`, `conv3`), but Keras's `_0_conv` and `_3_conv` have biases that timm's convs lack,
/// so `downsample.conv.bias` and `conv3.bias` exist here.
package final class PreActBottleneck: Layer {
    static let expansion = 4

    package let norm1: BatchNorm
    package let preactivation = Activation(.relu)
    package let reduce: ConvBN
    package let spatial: ConvBN
    package let expand: Conv2D
    package let downsample: Conv2D?
    package let subsample: Pool2D?

    init(inChannels: Int, width: Int, stride: Int, projection: Bool, epsilon: Float, momentum: Float) throws {
        let out = width * Self.expansion
        guard projection || inChannels == out else {
            throw NeuralNetError.invalidArgument("an identity shortcut needs \(out) input channels, got \(inChannels)")
        }
        norm1 = try BatchNorm(inChannels, epsilon: epsilon, momentum: momentum)
        reduce = try ConvBN(Conv2D(inChannels, width, kernel: 1), BatchNorm(width, epsilon: epsilon, momentum: momentum),
                            activation: .relu, names: ("conv1", "norm2"))
        spatial = try ConvBN(Conv2D(width, width, kernel: 3, stride: stride, padding: 1),
                             BatchNorm(width, epsilon: epsilon, momentum: momentum), activation: .relu, names: ("conv2", "norm3"))
        expand = try Conv2D(width, out, kernel: 1, bias: true)
        downsample = projection ? try Conv2D(inChannels, out, kernel: 1, stride: stride, bias: true) : nil
        subsample = !projection && stride > 1 ? try Pool2D(.max, kernel: 1, stride: stride) : nil
    }

    package var namedParameters: [(name: String, parameter: Parameter)] {
        (downsample.map { $0.namedParameters.map { ("downsample.conv." + $0.name, $0.parameter) } } ?? [])
            + norm1.namedParameters.map { ("norm1." + $0.name, $0.parameter) }
            + reduce.namedParameters + spatial.namedParameters
            + expand.namedParameters.map { ("conv3." + $0.name, $0.parameter) }
    }

    package func forward(_ x: Tensor, mode: Mode) throws -> Tensor {
        let preactivated = try norm1.forward(x, mode: mode, then: preactivation)
        let shortcut = try downsample?.forward(preactivated, mode: mode) ?? subsample?.forward(x, mode: mode) ?? x
        let reduced = try spatial.forward(reduce.forward(preactivated, mode: mode), mode: mode)
        // Inference adds the shortcut inside the last convolution (a sum post-op writing into the
        // shortcut's buffer): one pass over memory instead of a separate sum.
        if mode == .inference { return try expand.forward(reduced, adding: shortcut) }
        return try Add.forward(expand.forward(reduced, mode: mode), shortcut)
    }

    /// The sum's gradient reaches the branch and the shortcut unchanged; the projection's
    /// input gradient joins the branch's before the pre-activation, the subsampled or
    /// identity shortcut's joins after it.
    package func backward(_ dy: Tensor, needsInputGradient: Bool) throws -> Tensor? {
        let dExpandInput = try expand.backward(dy, needsInputGradient: true)!
        var dPreactivated = try reduce.backward(spatial.backward(dExpandInput, needsInputGradient: true)!, needsInputGradient: true)!
        if let downsample {
            dPreactivated = try Add.forward(dPreactivated, downsample.backward(dy, needsInputGradient: true)!)
        }
        let dNormalized = try preactivation.backward(dPreactivated, needsInputGradient: true)!
        let dInput = try norm1.backward(dNormalized, needsInputGradient: needsInputGradient)
        guard needsInputGradient, let dInput else {
            _ = try subsample?.backward(dy, needsInputGradient: false)
            return nil
        }
        if downsample != nil { return dInput }
        return try Add.forward(dInput, subsample?.backward(dy, needsInputGradient: true) ?? dy)
    }
}
