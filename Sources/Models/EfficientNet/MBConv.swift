import NeuralNet

/// EfficientNet's mobile inverted bottleneck, Lite variant (no squeeze-excitation, ReLU6):
/// 1×1 expand → k×k depthwise (carrying the stride) → 1×1 project, with an identity shortcut
/// when shape is kept. Names follow lukemelas/EfficientNet-PyTorch (`_expand_conv`, `_bn0`,
/// `_depthwise_conv`, `_bn1`, `_project_conv`, `_bn2`).
package final class MBConv: Layer {
    package let expand: ConvBN?
    package let depthwise: ConvBN
    package let project: ConvBN
    package let residual: Bool

    init(_ spec: EfficientNetConfig.Block, inChannels: Int, outChannels: Int, stride: Int, inputSize: Int,
         epsilon: Float, momentum: Float) throws {
        let hidden = inChannels * spec.expansion
        expand = spec.expansion == 1 ? nil
            : try ConvBN(Conv2D(inChannels, hidden, kernel: 1), BatchNorm(hidden, epsilon: epsilon, momentum: momentum),
                         activation: .relu6, names: ("_expand_conv", "_bn0"))
        let (low, high) = samePadding(size: inputSize, kernel: spec.kernel, stride: stride)
        depthwise = try ConvBN(Conv2D(hidden, hidden, kernel: [spec.kernel, spec.kernel], stride: [stride, stride],
                                      paddingLow: [low, low], paddingHigh: [high, high], groups: hidden),
                               BatchNorm(hidden, epsilon: epsilon, momentum: momentum), activation: .relu6,
                               names: ("_depthwise_conv", "_bn1"))
        project = try ConvBN(Conv2D(hidden, outChannels, kernel: 1), BatchNorm(outChannels, epsilon: epsilon, momentum: momentum),
                             activation: nil, names: ("_project_conv", "_bn2"))
        residual = stride == 1 && inChannels == outChannels
    }

    package var namedParameters: [(name: String, parameter: Parameter)] {
        (expand?.namedParameters ?? []) + depthwise.namedParameters + project.namedParameters
    }

    package func forward(_ x: Tensor, mode: Mode) throws -> Tensor {
        let expanded = try expand?.forward(x, mode: mode) ?? x
        let spread = try depthwise.forward(expanded, mode: mode)
        return try project.forward(spread, adding: residual ? x : nil, mode: mode)
    }

    package func backward(_ dy: Tensor, needsInputGradient: Bool) throws -> Tensor? {
        let (dSpread, dShortcut) = try project.backwardWithResidual(dy, needsInputGradient: true)
        let needsExpandedGradient = expand != nil || needsInputGradient
        let dExpanded = try depthwise.backward(dSpread!, needsInputGradient: needsExpandedGradient)
        let dInput = try expand.map { try $0.backward(dExpanded!, needsInputGradient: needsInputGradient) } ?? dExpanded
        guard needsInputGradient, let dInput else { return nil }
        return try dShortcut.map { try Add.forward(dInput, $0) } ?? dInput
    }
}

/// TensorFlow's "SAME" padding for a fixed input size, as the ported weights expect:
/// output = ⌈size / stride⌉, the odd pixel of padding going to the bottom/right.
func samePadding(size: Int, kernel: Int, stride: Int) -> (low: Int, high: Int) {
    let output = (size + stride - 1) / stride
    let total = max((output - 1) * stride + kernel - size, 0)
    return (total / 2, total - total / 2)
}
