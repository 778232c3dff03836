import NeuralNet

/// Xception as data, with Keras Applications' topology (299×299) and timm's
/// `legacy_xception` parameter names (`conv1`, `bn1`, `block1.rep.0.conv1.weight`,
/// `block12.skipbn.running_var`, `conv4.pointwise.weight`, `bn4`, `fc`).
///
/// timm's block k is Keras's block k + 1 (Keras calls the stem block1); timm's `conv3`/`conv4`
/// are Keras's `block14_sepconv1`/`_sepconv2`. Where the two differ, Keras wins: BatchNorm
/// ε = 1e-3 (momentum 0.99 in Keras's convention, 0.01 in ours), and the downsampling max
/// pools are TensorFlow "same" (asymmetric on even sizes: 74 → 37 pads only bottom/right),
/// where timm pads 1 on every side. The two stem convolutions are unpadded ("valid").
public struct XceptionConfig: Sendable {
    struct Block: Sendable {
        let channels: Int
        let repeats: Int
        let stride: Int
        /// False for the first block, whose input has just been through the stem's ReLU.
        let startsWithReLU: Bool
        /// Whether the first separable conv widens (entry and middle flow) or the last one
        /// (the exit flow's 728 → 728 → 1024).
        let growFirst: Bool

        init(_ channels: Int, repeats: Int, stride: Int, startsWithReLU: Bool = true, growFirst: Bool = true) {
            (self.channels, self.repeats, self.stride) = (channels, repeats, stride)
            (self.startsWithReLU, self.growFirst) = (startsWithReLU, growFirst)
        }
    }

    let stem: [Int]
    let blocks: [Block]
    /// Widths of the two separable conv + BN + ReLU units after the last block.
    let exit: [Int]
    let epsilon: Float
    let momentum: Float

    /// The network of `keras.applications.Xception`: entry flow (3 downsampling blocks),
    /// middle flow (8 identical blocks), exit flow (one downsampling block, two units).
    public static let keras = XceptionConfig(
        stem: [32, 64],
        blocks: [Block(128, repeats: 2, stride: 2, startsWithReLU: false), Block(256, repeats: 2, stride: 2),
                 Block(728, repeats: 2, stride: 2)]
            + Array(repeating: Block(728, repeats: 3, stride: 1), count: 8)
            + [Block(1024, repeats: 2, stride: 2, growFirst: false)],
        exit: [1536, 2048], epsilon: 1e-3, momentum: 0.01)

    public var featureChannels: Int { exit.last! }

    /// Stem convolutions, each block, and each exit unit as top-level modules, so every one
    /// can start fine-tuning (`conv1`, `conv2`, `block1` … `block12`, `conv3`, `conv4`).
    func makeBackbone() throws -> [(String, any Layer)] {
        var modules: [(String, any Layer)] = []
        var channels = 3
        for (index, width) in stem.enumerated() {
            let conv = try Conv2D(channels, width, kernel: 3, stride: index == 0 ? 2 : 1)
            modules.append(("", try ConvBN(conv, BatchNorm(width, epsilon: epsilon, momentum: momentum), activation: .relu,
                                           names: ("conv\(index + 1)", "bn\(index + 1)"))))
            channels = width
        }
        for (index, spec) in blocks.enumerated() {
            modules.append(("block\(index + 1)", try XceptionBlock(spec, inChannels: channels, epsilon: epsilon, momentum: momentum)))
            channels = spec.channels
        }
        for (index, width) in exit.enumerated() {
            let number = stem.count + index + 1
            modules.append(("", try SeparableConvBN(channels, width, epsilon: epsilon, momentum: momentum, activation: .relu,
                                                    names: ("conv\(number)", "bn\(number)"))))
            channels = width
        }
        return modules
    }
}
