import NeuralNet

/// InceptionV3 as data, with Keras Applications' topology (Szegedy et al. 2015, 299×299) and
/// torchvision's parameter names (`Conv2d_1a_3x3.conv.weight`, `Mixed_5b.branch5x5_2.bn.bias`;
/// no `AuxLogits`, which Keras does not have).
///
/// Where Keras and torchvision differ, Keras wins, because users bring Keras weights:
/// - every BatchNorm has no γ (`scale=False`), so there is no `*.bn.weight`; ε = 1e-3,
///   momentum 0.99 in Keras's convention (0.01 in ours);
/// - the 3×3 stride-1 average pool of the pool branches excludes the padding from the
///   average (Keras's `AveragePooling2D(padding="same")`; torchvision counts it);
/// - the stem and every stride-2 convolution and max pool are unpadded ("valid"), every other
///   convolution is "same" (stride 1, odd kernels: symmetric padding).
public struct InceptionV3Config: Sendable {
    /// Keras's padding modes; "same" is only used with stride 1 and odd kernels here, where
    /// it is (k − 1)/2 on each side.
    enum Padding: Sendable { case same, valid }

    /// torchvision's BasicConv2d: convolution without bias → BatchNorm without γ → ReLU.
    struct Unit: Sendable {
        let name: String
        let channels: Int
        let kernel: [Int]
        let stride: Int
        let padding: Padding

        init(_ name: String, _ channels: Int, _ kernel: [Int], stride: Int = 1, padding: Padding = .same) {
            (self.name, self.channels, self.kernel, self.stride, self.padding) = (name, channels, kernel, stride, padding)
        }
        init(_ name: String, _ channels: Int, _ kernel: Int, stride: Int = 1, padding: Padding = .same) {
            self.init(name, channels, [kernel, kernel], stride: stride, padding: padding)
        }
    }

    /// One step of a branch.
    enum Step: Sendable {
        case conv(Unit)
        /// 3×3 stride-1 average pool, "same", padding excluded from the average.
        case averagePool
        /// 3×3 stride-2 max pool, "valid".
        case maxPool
        /// Parallel units on the same input, concatenated (InceptionE's 1×3 / 3×1 pairs).
        case fork([Unit])
    }

    enum Module: Sendable {
        case conv(Unit)
        case maxPool(String)
        case mixed(String, [[Step]])
    }

    let modules: [Module]
    let epsilon: Float
    let momentum: Float

    /// The network of `keras.applications.InceptionV3`.
    public static let keras = InceptionV3Config(modules: [
        .conv(Unit("Conv2d_1a_3x3", 32, 3, stride: 2, padding: .valid)),
        .conv(Unit("Conv2d_2a_3x3", 32, 3, padding: .valid)),
        .conv(Unit("Conv2d_2b_3x3", 64, 3)),
        .maxPool("maxpool1"),
        .conv(Unit("Conv2d_3b_1x1", 80, 1, padding: .valid)),
        .conv(Unit("Conv2d_4a_3x3", 192, 3, padding: .valid)),
        .maxPool("maxpool2"),
        .mixed("Mixed_5b", inceptionA(poolChannels: 32)),
        .mixed("Mixed_5c", inceptionA(poolChannels: 64)),
        .mixed("Mixed_5d", inceptionA(poolChannels: 64)),
        .mixed("Mixed_6a", inceptionB),
        .mixed("Mixed_6b", inceptionC(channels7x7: 128)),
        .mixed("Mixed_6c", inceptionC(channels7x7: 160)),
        .mixed("Mixed_6d", inceptionC(channels7x7: 160)),
        .mixed("Mixed_6e", inceptionC(channels7x7: 192)),
        .mixed("Mixed_7a", inceptionD),
        .mixed("Mixed_7b", inceptionE),
        .mixed("Mixed_7c", inceptionE),
    ], epsilon: 1e-3, momentum: 0.01)

    public let featureChannels = 2048

    /// 35×35 modules: 1×1, 5×5, double 3×3 and pooled branches.
    static func inceptionA(poolChannels: Int) -> [[Step]] {
        [[.conv(Unit("branch1x1", 64, 1))],
         [.conv(Unit("branch5x5_1", 48, 1)), .conv(Unit("branch5x5_2", 64, 5))],
         [.conv(Unit("branch3x3dbl_1", 64, 1)), .conv(Unit("branch3x3dbl_2", 96, 3)), .conv(Unit("branch3x3dbl_3", 96, 3))],
         [.averagePool, .conv(Unit("branch_pool", poolChannels, 1))]]
    }

    /// 35 → 17 reduction.
    static let inceptionB: [[Step]] = [
        [.conv(Unit("branch3x3", 384, 3, stride: 2, padding: .valid))],
        [.conv(Unit("branch3x3dbl_1", 64, 1)), .conv(Unit("branch3x3dbl_2", 96, 3)),
         .conv(Unit("branch3x3dbl_3", 96, 3, stride: 2, padding: .valid))],
        [.maxPool],
    ]

    /// 17×17 modules with factorised 7×7 convolutions (1×7 then 7×1).
    static func inceptionC(channels7x7 c: Int) -> [[Step]] {
        [[.conv(Unit("branch1x1", 192, 1))],
         [.conv(Unit("branch7x7_1", c, 1)), .conv(Unit("branch7x7_2", c, [1, 7])), .conv(Unit("branch7x7_3", 192, [7, 1]))],
         [.conv(Unit("branch7x7dbl_1", c, 1)), .conv(Unit("branch7x7dbl_2", c, [7, 1])), .conv(Unit("branch7x7dbl_3", c, [1, 7])),
          .conv(Unit("branch7x7dbl_4", c, [7, 1])), .conv(Unit("branch7x7dbl_5", 192, [1, 7]))],
         [.averagePool, .conv(Unit("branch_pool", 192, 1))]]
    }

    /// 17 → 8 reduction.
    static let inceptionD: [[Step]] = [
        [.conv(Unit("branch3x3_1", 192, 1)), .conv(Unit("branch3x3_2", 320, 3, stride: 2, padding: .valid))],
        [.conv(Unit("branch7x7x3_1", 192, 1)), .conv(Unit("branch7x7x3_2", 192, [1, 7])),
         .conv(Unit("branch7x7x3_3", 192, [7, 1])), .conv(Unit("branch7x7x3_4", 192, 3, stride: 2, padding: .valid))],
        [.maxPool],
    ]

    /// 8×8 modules whose 3×3 branches end in a 1×3 / 3×1 fork.
    static let inceptionE: [[Step]] = [
        [.conv(Unit("branch1x1", 320, 1))],
        [.conv(Unit("branch3x3_1", 384, 1)), .fork([Unit("branch3x3_2a", 384, [1, 3]), Unit("branch3x3_2b", 384, [3, 1])])],
        [.conv(Unit("branch3x3dbl_1", 448, 1)), .conv(Unit("branch3x3dbl_2", 384, 3)),
         .fork([Unit("branch3x3dbl_3a", 384, [1, 3]), Unit("branch3x3dbl_3b", 384, [3, 1])])],
        [.averagePool, .conv(Unit("branch_pool", 192, 1))],
    ]

    /// The stem convolutions and pools, then every mixed module as its own top-level module
    /// (so `--freeze Mixed_7a` fine-tunes the last three).
    func makeBackbone() throws -> [(String, any Layer)] {
        var channels = 3
        return try modules.map { module in
            switch module {
            case .conv(let unit):
                let layer = try basicConv(unit, inChannels: channels)
                channels = unit.channels
                return (unit.name, layer)
            case .maxPool(let name):
                return (name, try Pool2D(.max, kernel: 3, stride: 2))
            case .mixed(let name, let branches):
                let block = try mixed(branches, inChannels: channels)
                channels = block.channels
                return (name, block.layer)
            }
        }
    }

    /// Parallel branches; returns the concatenated channel count.
    func mixed(_ branches: [[Step]], inChannels: Int) throws -> (layer: Branches, channels: Int) {
        var total = 0
        let layers: [(String, any Layer)] = try branches.map { steps in
            var channels = inChannels
            let chain: [(String, any Layer)] = try steps.map { step in
                switch step {
                case .conv(let unit):
                    defer { channels = unit.channels }
                    return (unit.name, try basicConv(unit, inChannels: channels))
                case .averagePool:
                    return ("", try Pool2D(.average(countIncludesPadding: false), kernel: 3, stride: 1, padding: 1))
                case .maxPool:
                    return ("", try Pool2D(.max, kernel: 3, stride: 2))
                case .fork(let units):
                    let fork = Branches(try units.map { ($0.name, try basicConv($0, inChannels: channels)) })
                    channels = units.reduce(0) { $0 + $1.channels }
                    return ("", fork)
                }
            }
            total += channels
            return ("", chain.count == 1 && chain[0].0.isEmpty ? chain[0].1 : Sequential(chain))
        }
        return (Branches(layers), total)
    }

    func basicConv(_ unit: Unit, inChannels: Int) throws -> ConvBN {
        guard unit.padding == .valid || (unit.stride == 1 && unit.kernel.allSatisfy { $0 % 2 == 1 }) else {
            throw NeuralNetError.invalidArgument("\(unit.name): symmetric \"same\" padding needs stride 1 and odd kernels")
        }
        let padding = unit.kernel.map { unit.padding == .same ? ($0 - 1) / 2 : 0 }
        let conv = try Conv2D(inChannels, unit.channels, kernel: unit.kernel, stride: [unit.stride, unit.stride],
                              paddingLow: padding, paddingHigh: padding)
        let bn = try BatchNorm(unit.channels, epsilon: epsilon, momentum: momentum, scale: false)
        return try ConvBN(conv, bn, activation: .relu, names: ("conv", "bn"))
    }
}
