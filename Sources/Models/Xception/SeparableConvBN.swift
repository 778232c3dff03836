import NeuralNet

/// Keras's `SeparableConv2D` (3×3 depthwise then 1×1 pointwise, no bias, stride 1, "same")
/// followed by BatchNorm and an optional ReLU. Names follow timm's Xception:
/// `<conv>.conv1.weight` (depthwise), `<conv>.pointwise.weight`, `<bn>.weight` ….
package final class SeparableConvBN: Layer {
    package let depthwise: Conv2D
    package let pointwise: ConvBN
    package let convName: String

    init(_ inChannels: Int, _ outChannels: Int, epsilon: Float, momentum: Float, activation: Activation.Kind?,
         names: (conv: String, bn: String)) throws {
        depthwise = try Conv2D(inChannels, inChannels, kernel: 3, padding: 1, groups: inChannels)
        pointwise = try ConvBN(Conv2D(inChannels, outChannels, kernel: 1),
                               BatchNorm(outChannels, epsilon: epsilon, momentum: momentum),
                               activation: activation, names: (names.conv + ".pointwise", names.bn))
        convName = names.conv
    }

    package var namedParameters: [(name: String, parameter: Parameter)] {
        depthwise.namedParameters.map { ("\(convName).conv1.\($0.name)", $0.parameter) } + pointwise.namedParameters
    }

    package func forward(_ x: Tensor, mode: Mode) throws -> Tensor {
        try pointwise.forward(depthwise.forward(x, mode: mode), mode: mode)
    }

    package func backward(_ dy: Tensor, needsInputGradient: Bool) throws -> Tensor? {
        let spread = try pointwise.backward(dy, needsInputGradient: true)!
        return try depthwise.backward(spread, needsInputGradient: needsInputGradient)
    }
}
