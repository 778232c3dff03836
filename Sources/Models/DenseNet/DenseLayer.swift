import NeuralNet

/// One layer of a dense block: BN-ReLU → 1×1 conv (4·growth channels) → BN-ReLU → 3×3 conv
/// (growth channels), whose output is concatenated after the layer's input, so every layer
/// sees all earlier feature maps. torchvision's `_DenseLayer` names (`norm1`, `conv1`,
/// `norm2`, `conv2`); Keras's `conv_block` (`_0_bn`, `_1_conv`, `_1_bn`, `_2_conv`).
package final class DenseLayer: Layer {
    package let norm1: BatchNorm
    package let preactivation = Activation(.relu)
    package let bottleneck: ConvBN
    package let conv2: Conv2D
    private let concat = Concat()

    init(inChannels: Int, growth: Int, bottleneckWidth: Int, epsilon: Float, momentum: Float) throws {
        norm1 = try BatchNorm(inChannels, epsilon: epsilon, momentum: momentum)
        bottleneck = try ConvBN(Conv2D(inChannels, bottleneckWidth, kernel: 1),
                                BatchNorm(bottleneckWidth, epsilon: epsilon, momentum: momentum),
                                activation: .relu, names: ("conv1", "norm2"))
        conv2 = try Conv2D(bottleneckWidth, growth, kernel: 3, padding: 1)
    }

    package var namedParameters: [(name: String, parameter: Parameter)] {
        norm1.namedParameters.map { ("norm1." + $0.name, $0.parameter) } + bottleneck.namedParameters
            + conv2.namedParameters.map { ("conv2." + $0.name, $0.parameter) }
    }

    package func forward(_ x: Tensor, mode: Mode) throws -> Tensor {
        let preactivated = try norm1.forward(x, mode: mode, then: preactivation)
        let new = try conv2.forward(bottleneck.forward(preactivated, mode: mode), mode: mode)
        return try concat.forward([x, new], mode: mode)
    }

    /// The output gradient splits into the input's slice, which passes straight through, and
    /// the new features' slice, which goes back through the layer; the two meet at the input.
    package func backward(_ dy: Tensor, needsInputGradient: Bool) throws -> Tensor? {
        let slices = try concat.backward(dy)
        let dPreactivated = try bottleneck.backward(conv2.backward(slices[1], needsInputGradient: true)!, needsInputGradient: true)!
        let dInput = try norm1.backward(preactivation.backward(dPreactivated, needsInputGradient: true)!,
                                        needsInputGradient: needsInputGradient)
        guard needsInputGradient, let dInput else { return nil }
        return try Add.forward(dInput, slices[0])
    }
}
