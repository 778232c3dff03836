import NeuralNet

/// DenseNet as data (Huang et al. 2017): dense layers per block, growth rate, bottleneck
/// width factor and the channel compression of the transitions between blocks. Topology is
/// Keras Applications' `DenseNet121`, names torchvision's `densenet121`. They agree except:
/// - BatchNorm ε = 1.001e-5 (torchvision 1e-5) and momentum 0.01 (Keras's 0.99);
/// - Keras zero-pads before the stem's 3×3/2 max pool; it follows a ReLU, so the padded
///   zeros never beat a real value and the pool's own padding (torchvision's) is equivalent.
public struct DenseNetConfig: Sendable {
    public let blocks: [Int]
    public let growth: Int
    public let stemChannels: Int
    /// The 1×1 bottleneck convolution has `bottleneckFactor · growth` outputs.
    public let bottleneckFactor: Int
    /// A transition keeps this fraction of its input channels.
    public let compression: Double

    public static let densenet121 = DenseNetConfig(blocks: [6, 12, 24, 16], growth: 32, stemChannels: 64,
                                                   bottleneckFactor: 4, compression: 0.5)

    static let epsilon: Float = 1.001e-5
    static let momentum: Float = 0.01

    /// Channels entering each dense block and, last, the final feature channels.
    var blockInputs: [Int] {
        var channels = stemChannels, inputs: [Int] = []
        for (index, count) in blocks.enumerated() {
            inputs.append(channels)
            channels += count * growth
            if index < blocks.count - 1 { channels = Int(Double(channels) * compression) }
        }
        return inputs + [channels]
    }

    public var featureChannels: Int { blockInputs.last! }

    /// Top-level modules, named as in torchvision: `features` (the stem: `conv0`, `norm0`,
    /// ReLU, `pool0`), `features.denseblock1`, `features.transition1`, …,
    /// `features.denseblock4`, and `features.norm5` with its ReLU (Keras's `bn`/`relu`).
    func makeBackbone() throws -> [(String, any Layer)] {
        let stem = Sequential([
            ("", try ConvBN(Conv2D(3, stemChannels, kernel: 7, stride: 2, padding: 3),
                            BatchNorm(stemChannels, epsilon: Self.epsilon, momentum: Self.momentum), activation: .relu,
                            names: ("conv0", "norm0"))),
            ("pool0", try Pool2D(.max, kernel: 3, stride: 2, padding: 1)),
        ])
        var modules: [(String, any Layer)] = [("features", stem)]
        let inputs = blockInputs
        for (index, count) in blocks.enumerated() {
            let layers = try (0..<count).map { layer -> (String, any Layer) in
                ("denselayer\(layer + 1)", try DenseLayer(inChannels: inputs[index] + layer * growth, growth: growth,
                                                          bottleneckWidth: bottleneckFactor * growth,
                                                          epsilon: Self.epsilon, momentum: Self.momentum))
            }
            modules.append(("features.denseblock\(index + 1)", Sequential(layers)))
            guard index < blocks.count - 1 else { break }
            let channels = inputs[index] + count * growth
            modules.append(("features.transition\(index + 1)", Sequential([
                ("norm", try BatchNorm(channels, epsilon: Self.epsilon, momentum: Self.momentum)),
                ("relu", Activation(.relu)),
                ("conv", try Conv2D(channels, inputs[index + 1], kernel: 1)),
                ("pool", try Pool2D(.average(countIncludesPadding: true), kernel: 2, stride: 2)),
            ])))
        }
        modules.append(("features.norm5", Sequential([
            ("", try BatchNorm(featureChannels, epsilon: Self.epsilon, momentum: Self.momentum)), ("", Activation(.relu)),
        ])))
        return modules
    }
}
