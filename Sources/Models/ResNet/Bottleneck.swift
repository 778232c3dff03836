import NeuralNet

/// The ResNet bottleneck: 1×1 reduce → 3×3 → 1×1 expand, plus the shortcut (identity, or
/// 1×1 conv + BN when the shape changes), then ReLU. The stride sits on the 3×3
/// (torchvision's v1.5) or on the 1×1 reduce (Keras's v1), as `ResNetConfig` says.
package final class Bottleneck: Layer {
    static let expansion = 4

    package let reduce: ConvBN
    package let spatial: ConvBN
    package let expand: ConvBN
    package let downsample: ConvBN?

    init(inChannels: Int, width: Int, stride: Int, config: ResNetConfig = .resnet50) throws {
        let out = width * Self.expansion, bias = config.convolutionBias
        let (reduceStride, spatialStride) = config.stridedConvolution == .reduce ? (stride, 1) : (1, stride)
        reduce = try ConvBN(Conv2D(inChannels, width, kernel: 1, stride: reduceStride, bias: bias), config.batchNorm(width),
                            activation: .relu, names: ("conv1", "bn1"))
        spatial = try ConvBN(Conv2D(width, width, kernel: 3, stride: spatialStride, padding: 1, bias: bias),
                             config.batchNorm(width), activation: .relu, names: ("conv2", "bn2"))
        expand = try ConvBN(Conv2D(width, out, kernel: 1, bias: bias), config.batchNorm(out), activation: .relu,
                            names: ("conv3", "bn3"))
        downsample = stride != 1 || inChannels != out
            ? try ConvBN(Conv2D(inChannels, out, kernel: 1, stride: stride, bias: bias), config.batchNorm(out), activation: nil,
                         names: ("downsample.0", "downsample.1"))
            : nil
    }

    package var namedParameters: [(name: String, parameter: Parameter)] {
        reduce.namedParameters + spatial.namedParameters + expand.namedParameters + (downsample?.namedParameters ?? [])
    }

    package func forward(_ x: Tensor, mode: Mode) throws -> Tensor {
        let shortcut = try downsample?.forward(x, mode: mode) ?? x
        let branch = try spatial.forward(reduce.forward(x, mode: mode), mode: mode)
        return try expand.forward(branch, adding: shortcut, mode: mode)
    }

    package func backward(_ dy: Tensor, needsInputGradient: Bool) throws -> Tensor? {
        let (dBranch, dShortcut) = try expand.backwardWithResidual(dy, needsInputGradient: true)
        let dReduced = try spatial.backward(dBranch!, needsInputGradient: true)!
        let dInput = try reduce.backward(dReduced, needsInputGradient: needsInputGradient)
        let dShortcutInput = try downsample?.backward(dShortcut!, needsInputGradient: needsInputGradient) ?? dShortcut
        guard needsInputGradient, let dInput, let dShortcutInput else { return nil }
        return try Add.forward(dInput, dShortcutInput)
    }
}
