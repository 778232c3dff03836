import NeuralNet

/// Keras's ResNet50V2 as data: bottleneck blocks per stage, widths 64·2ⁱ (outputs four
/// times that). Where timm's `resnetv2_50` (whose names we use) differs, Keras wins:
/// - the stride sits on the *last* block of stages 1–3 (timm: the first block of stages
///   2–4), with the 1×1 max-pool shortcut in that block;
/// - the stem convolution, every projection and every `conv3` have biases;
/// - the stem is 7×7/2 conv, then zero padding and a 3×3/2 max pool with no activation in
///   between, so a padded zero can win a window: the padding is an explicit `ZeroPad2D`
///   (timm's max pool pads with −∞);
/// - BatchNorm ε = 1.001e-5 and momentum 0.01 (Keras's 0.99 in PyTorch's convention).
public struct ResNetV2Config: Sendable {
    public let blocks: [Int]

    public static let resnet50v2 = ResNetV2Config(blocks: [3, 4, 6, 3])

    static let epsilon: Float = 1.001e-5
    static let momentum: Float = 0.01

    public var featureChannels: Int { 64 << (blocks.count - 1) * PreActBottleneck.expansion }

    /// Top-level modules, named as in timm: `stem` (conv, padding, max pool), `stages.0` …
    /// `stages.3` (blocks `blocks.0` …), and `norm`, the final BatchNorm-ReLU (Keras's
    /// `post_bn`/`post_relu`) that makes the features Grad-CAM explains.
    func makeBackbone() throws -> [(String, any Layer)] {
        let stem = Sequential([("conv", try Conv2D(3, 64, kernel: 7, stride: 2, padding: 3, bias: true)),
                               ("", try ZeroPad2D(1)), ("", try Pool2D(.max, kernel: 3, stride: 2))])
        var modules: [(String, any Layer)] = [("stem", stem)]
        var channels = 64
        for (index, count) in blocks.enumerated() {
            let width = 64 << index
            var stage: [(String, any Layer)] = []
            for block in 0..<count {
                let stride = block == count - 1 && index < blocks.count - 1 ? 2 : 1
                stage.append(("blocks.\(block)", try PreActBottleneck(
                    inChannels: channels, width: width, stride: stride, projection: block == 0,
                    epsilon: Self.epsilon, momentum: Self.momentum)))
                channels = width * PreActBottleneck.expansion
            }
            modules.append(("stages.\(index)", Sequential(stage)))
        }
        modules.append(("norm", Sequential([("", try BatchNorm(channels, epsilon: Self.epsilon, momentum: Self.momentum)),
                                            ("", Activation(.relu))])))
        return modules
    }
}
