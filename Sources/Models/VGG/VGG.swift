import NeuralNet

/// VGG as data (Simonyan & Zisserman 2014): convolutions per block, widths doubling to 512,
/// a 2×2 max pool after each block. Topology follows Keras Applications' `VGG19`; parameter
/// names follow torchvision's `vgg19` (`features.N`, `classifier.N`), so both sources load.
///
/// With the fully connected top (`includeTop`), the last feature map (512×7×7 at 224) is
/// flattened and passes fc1 and fc2 (4096 each, ReLU) before the head, which takes
/// `predictions`' place as `classifier.6`; the input must then be 224×224. Where the two
/// sources differ, Keras wins:
/// - torchvision has Dropout(0.5) after fc1 and fc2 (`classifier.2`, `classifier.5`) and an
///   adaptive 7×7 average pool before flattening; Keras has neither (the pool is the identity
///   at 224 anyway), so neither is here.
/// - Keras flattens (H, W, C), torchvision and we flatten (C, H, W): fc1's Keras kernel rows
///   are permuted on import (`KerasWeightLayout.flattenedDenseKernel`).
/// Without the top, the `Classifier`'s global average pooling and head follow the features,
/// as Keras's `VGG19(include_top=False, pooling="avg")` plus a Dense head.
public struct VGGConfig: Sendable {
    public let convolutions: [Int]
    public let includeTop: Bool

    public static let vgg19 = VGGConfig(convolutions: [2, 2, 4, 4, 4], includeTop: true)
    public static let vgg19NoTop = VGGConfig(convolutions: [2, 2, 4, 4, 4], includeTop: false)

    static let topWidth = 4096
    /// Side of the last feature map for Keras's 224×224 input, which fc1 is sized for.
    static let topGrid = 7

    /// Output channels of block `index`: 64, 128, 256, 512, 512.
    func width(ofBlock index: Int) -> Int { min(64 << index, 512) }

    public var featureChannels: Int { includeTop ? Self.topWidth : width(ofBlock: convolutions.count - 1) }

    /// The torchvision `features` index of every convolution, block by block: each
    /// convolution is followed by its ReLU, each block by a max pool.
    var convolutionIndices: [[Int]] {
        var next = 0, blocks: [[Int]] = []
        for count in convolutions {
            blocks.append((0..<count).map { next + 2 * $0 })
            next += 2 * count + 1
        }
        return blocks
    }

    /// Top-level modules: each convolution with its ReLU as `features.N` (so fine-tuning can
    /// start at any convolution: `features.28` is Keras's block5_conv1), the pools, then with
    /// the top `flatten`, `classifier.0` and `classifier.3`.
    func makeBackbone() throws -> [(String, any Layer)] {
        var modules: [(String, any Layer)] = []
        var channels = 3
        for (block, indices) in convolutionIndices.enumerated() {
            let width = width(ofBlock: block)
            for index in indices {
                let conv = try Conv2D(channels, width, kernel: 3, padding: 1, bias: true)
                modules.append(("features.\(index)", Sequential([("", conv), ("", Activation(.relu))])))
                channels = width
            }
            modules.append(("features.\(indices.last! + 2)", try Pool2D(.max, kernel: 2, stride: 2)))
        }
        guard includeTop else { return modules }
        let flattened = channels * Self.topGrid * Self.topGrid
        modules.append(("flatten", Flatten()))
        modules.append(("classifier.0", Sequential([("", try Linear(flattened, Self.topWidth)), ("", Activation(.relu))])))
        modules.append(("classifier.3", Sequential([("", try Linear(Self.topWidth, Self.topWidth)), ("", Activation(.relu))])))
        return modules
    }
}
