import NeuralNet

/// ResNet as data, the way torchvision declares it: a block count per stage. Stage widths
/// are 64·2ⁱ, the first stage keeps the resolution and the others halve it.
public struct ResNetConfig: Sendable {
    public let blocks: [Int]

    public static let resnet50 = ResNetConfig(blocks: [3, 4, 6, 3])

    /// Channels of the final feature map.
    public var featureChannels: Int { 64 << (blocks.count - 1) * Bottleneck.expansion }

    /// The backbone's top-level modules in order, named as in torchvision: the stem
    /// (`conv1`/`bn1` with ReLU), `maxpool`, then `layer1` … `layer4`.
    func makeBackbone() throws -> [(String, any Layer)] {
        let stem = try ConvBN(Conv2D(3, 64, kernel: 7, stride: 2, padding: 3), BatchNorm(64), activation: .relu,
                              names: ("conv1", "bn1"))
        var modules: [(String, any Layer)] = [("", stem), ("maxpool", try Pool2D(.max, kernel: 3, stride: 2, padding: 1))]
        var channels = 64
        for (index, count) in blocks.enumerated() {
            let width = 64 << index
            var stage: [(String, any Layer)] = []
            for block in 0..<count {
                let stride = block == 0 && index > 0 ? 2 : 1
                stage.append(("\(block)", try Bottleneck(inChannels: channels, width: width, stride: stride)))
                channels = width * Bottleneck.expansion
            }
            modules.append(("layer\(index + 1)", Sequential(stage)))
        }
        return modules
    }
}
