import NeuralNet

/// ResNet as data, the way torchvision declares it: a block count per stage. Stage widths
/// are 64·2ⁱ, the first stage keeps the resolution and the others halve it.
///
/// Two variants share the blocks and torchvision's parameter names:
/// - `resnet50`, torchvision's v1.5: the stride on the 3×3 convolution, no convolution
///   biases, BatchNorm ε 1e-5.
/// - `kerasResNet50`, Keras Applications' `ResNet50` (the original v1 of He et al. 2015, as
///   the Caffe weights have it): the stride on the first 1×1 (`_1_conv`) and on the
///   projection shortcut, a bias on every convolution, BatchNorm ε 1.001e-5 and momentum
///   0.01 (Keras's 0.99). Keras's stem zero-pads explicitly (`conv1_pad`, `pool1_pad`):
///   padding the 7×7 convolution by 3 is that padding, and the max pool's padded 1 never wins
///   a window because it follows a ReLU (every value is ≥ 0 and each window holds one).
public struct ResNetConfig: Sendable {
    /// Which convolution of a downsampling bottleneck carries the stride.
    public enum StridedConvolution: Sendable { case spatial, reduce }

    public let blocks: [Int]
    public let stridedConvolution: StridedConvolution
    public let convolutionBias: Bool
    public let epsilon: Float
    public let momentum: Float

    public static let resnet50 = ResNetConfig(blocks: [3, 4, 6, 3], stridedConvolution: .spatial, convolutionBias: false,
                                              epsilon: 1e-5, momentum: 0.1)
    public static let kerasResNet50 = ResNetConfig(blocks: [3, 4, 6, 3], stridedConvolution: .reduce, convolutionBias: true,
                                                   epsilon: 1.001e-5, momentum: 0.01)

    /// Channels of the final feature map.
    public var featureChannels: Int { 64 << (blocks.count - 1) * Bottleneck.expansion }

    func batchNorm(_ channels: Int) throws -> BatchNorm { try BatchNorm(channels, epsilon: epsilon, momentum: momentum) }

    /// The backbone's top-level modules in order, named as in torchvision: the stem
    /// (`conv1`/`bn1` with ReLU), `maxpool`, then `layer1` … `layer4`.
    func makeBackbone() throws -> [(String, any Layer)] {
        let stem = try ConvBN(Conv2D(3, 64, kernel: 7, stride: 2, padding: 3, bias: convolutionBias), batchNorm(64),
                              activation: .relu, names: ("conv1", "bn1"))
        var modules: [(String, any Layer)] = [("", stem), ("maxpool", try Pool2D(.max, kernel: 3, stride: 2, padding: 1))]
        var channels = 64
        for (index, count) in blocks.enumerated() {
            let width = 64 << index
            var stage: [(String, any Layer)] = []
            for block in 0..<count {
                let stride = block == 0 && index > 0 ? 2 : 1
                stage.append(("\(block)", try Bottleneck(inChannels: channels, width: width, stride: stride, config: self)))
                channels = width * Bottleneck.expansion
            }
            modules.append(("layer\(index + 1)", Sequential(stage)))
        }
        return modules
    }
}
