import NeuralNet

/// EfficientNet as data: the B0 block table, which Lite0 keeps, with Lite's changes (ReLU6,
/// no squeeze-excitation, stem and head widths fixed at 32 and 1280).
public struct EfficientNetConfig: Sendable {
    struct Block: Sendable {
        let expansion: Int
        let kernel: Int
        let stride: Int
        let channels: Int
        let repeats: Int
    }

    let stem: Int
    let head: Int
    let blocks: [Block]
    let epsilon: Float
    let momentum: Float
    /// The resolution the static "same" padding is computed for.
    let inputSize: Int

    /// EfficientNet-Lite0 (Tan & Le 2019; the TensorFlow Lite variant), BatchNorm ε = 1e-3 and
    /// momentum 0.01 as in the TensorFlow original.
    public static let lite0 = EfficientNetConfig(
        stem: 32, head: 1280,
        blocks: [
            Block(expansion: 1, kernel: 3, stride: 1, channels: 16, repeats: 1),
            Block(expansion: 6, kernel: 3, stride: 2, channels: 24, repeats: 2),
            Block(expansion: 6, kernel: 5, stride: 2, channels: 40, repeats: 2),
            Block(expansion: 6, kernel: 3, stride: 2, channels: 80, repeats: 3),
            Block(expansion: 6, kernel: 5, stride: 1, channels: 112, repeats: 3),
            Block(expansion: 6, kernel: 5, stride: 2, channels: 192, repeats: 4),
            Block(expansion: 6, kernel: 3, stride: 1, channels: 320, repeats: 1),
        ],
        epsilon: 1e-3, momentum: 0.01, inputSize: 224)

    /// Stem, then every block as its own module (`_blocks.0` … `_blocks.15`, so fine-tuning can
    /// start at any block), then the 1×1 head convolution.
    func makeBackbone() throws -> [(String, any Layer)] {
        var size = inputSize
        let (low, high) = samePadding(size: size, kernel: 3, stride: 2)
        let stemConv = try Conv2D(3, stem, kernel: [3, 3], stride: [2, 2], paddingLow: [low, low], paddingHigh: [high, high])
        var modules: [(String, any Layer)] = [
            ("", try ConvBN(stemConv, BatchNorm(stem, epsilon: epsilon, momentum: momentum), activation: .relu6,
                            names: ("_conv_stem", "_bn0"))),
        ]
        size = (size + 1) / 2
        var channels = stem
        for spec in blocks {
            for repeat_ in 0..<spec.repeats {
                let stride = repeat_ == 0 ? spec.stride : 1
                let block = try MBConv(spec, inChannels: channels, outChannels: spec.channels, stride: stride,
                                       inputSize: size, epsilon: epsilon, momentum: momentum)
                modules.append(("_blocks.\(modules.count - 1)", block))
                size = (size + stride - 1) / stride
                channels = spec.channels
            }
        }
        modules.append(("", try ConvBN(Conv2D(channels, head, kernel: 1), BatchNorm(head, epsilon: epsilon, momentum: momentum),
                                       activation: .relu6, names: ("_conv_head", "_bn1"))))
        return modules
    }
}
