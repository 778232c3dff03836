import NeuralNet

/// EfficientNet as data: the B0 block table, which the Lite variants scale, with Lite's
/// changes (ReLU6, no squeeze-excitation, stem and head widths fixed at 32 and 1280).
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

    /// EfficientNet-B0's stages (Tan & Le 2019, table 1), which Lite0 is unscaled.
    static let b0Blocks = [
        Block(expansion: 1, kernel: 3, stride: 1, channels: 16, repeats: 1),
        Block(expansion: 6, kernel: 3, stride: 2, channels: 24, repeats: 2),
        Block(expansion: 6, kernel: 5, stride: 2, channels: 40, repeats: 2),
        Block(expansion: 6, kernel: 3, stride: 2, channels: 80, repeats: 3),
        Block(expansion: 6, kernel: 5, stride: 1, channels: 112, repeats: 3),
        Block(expansion: 6, kernel: 5, stride: 2, channels: 192, repeats: 4),
        Block(expansion: 6, kernel: 3, stride: 1, channels: 320, repeats: 1),
    ]

    /// The TensorFlow Lite EfficientNets (`efficientnet_lite_builder.py`), BatchNorm ε = 1e-3
    /// and momentum 0.01 as in the TensorFlow original, scaled as its builder does: each
    /// stage's width × `width` rounded to a multiple of 8 (never more than 10 % down), its
    /// repeats × `depth` rounded up, except that Lite keeps the stem, the head and the first
    /// and last stages' repeats fixed (`fix_head_stem`, for cheaper quantized inference).
    static func lite(width: Double, depth: Double, inputSize: Int) -> EfficientNetConfig {
        func scaledWidth(_ channels: Int) -> Int {
            let scaled = Double(channels) * width
            let rounded = max(8, Int(scaled + 4) / 8 * 8)
            return Double(rounded) < 0.9 * scaled ? rounded + 8 : rounded
        }
        let blocks = b0Blocks.enumerated().map { index, block in
            let fixed = index == 0 || index == b0Blocks.count - 1
            return Block(expansion: block.expansion, kernel: block.kernel, stride: block.stride,
                         channels: scaledWidth(block.channels),
                         repeats: fixed ? block.repeats : Int((Double(block.repeats) * depth).rounded(.up)))
        }
        return EfficientNetConfig(stem: 32, head: 1280, blocks: blocks, epsilon: 1e-3, momentum: 0.01, inputSize: inputSize)
    }

    /// Lite0-2 as `efficientnet_lite_builder.py` lists them: (width, depth, resolution).
    public static let lite0 = lite(width: 1.0, depth: 1.0, inputSize: 224)
    public static let lite1 = lite(width: 1.0, depth: 1.1, inputSize: 240)
    public static let lite2 = lite(width: 1.1, depth: 1.2, inputSize: 260)

    /// Stem, then every block as its own module (`_blocks.0` … `_blocks.15` in Lite0, so fine-tuning can
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
