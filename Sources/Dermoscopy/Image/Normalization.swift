/// How a backbone expects its input scaled, stored with each model so every consumer feeds it
/// the way it was trained (DESIGN.md decision 5). The named modes follow torchvision and
/// `keras.applications.imagenet_utils.preprocess_input`; `perChannel` is any per-channel
/// scale and offset, which is what a Keras model's own `Rescaling` and `Normalization`
/// layers compute.
public struct Normalization: Sendable, Equatable {
    /// The named modes, whose names model files store: renaming one orphans every saved model.
    public enum Mode: String, Sendable, CaseIterable {
        /// torchvision's ImageNet statistics: (x / 255 − [0.485, 0.456, 0.406]) / [0.229, 0.224, 0.225], RGB.
        case torchvision
        /// Keras "caffe" mode (ResNet50, VGG): BGR order, x − [103.939, 116.779, 123.68] (BGR means), no scaling.
        case caffe
        /// Keras "tf" mode (Inception, MobileNet, Xception): x / 127.5 − 1, RGB.
        case tf
        /// Keras "torch" mode (DenseNet): the same arithmetic as `torchvision`.
        case kerasTorch
        /// TensorFlow Lite EfficientNets: (x − 127) / 128, RGB ("inception-style", kept for
        /// post-quantization accuracy).
        case tfLite
        /// (x / 255 − mean[c]) / std[c] with the model's own mean and std, RGB.
        case perChannel
    }

    public let mode: Mode
    /// Output value of every byte of R, G and B (256 each), computed once in double precision
    /// and rounded once to Float: a lookup is faster than the arithmetic and as exact as the
    /// formula allows.
    private let table: [Float]

    public static let torchvision = Normalization(named: .torchvision)
    public static let caffe = Normalization(named: .caffe)
    public static let tf = Normalization(named: .tf)
    public static let kerasTorch = Normalization(named: .kerasTorch)
    public static let tfLite = Normalization(named: .tfLite)
    /// The named modes, in the order model files have always listed them.
    public static let allCases: [Normalization] = [.torchvision, .caffe, .tf, .kerasTorch, .tfLite]

    /// The named mode called `rawValue` (`perChannel` needs its values: `perChannel(mean:std:)`).
    public init?(rawValue: String) {
        guard let mode = Mode(rawValue: rawValue), mode != .perChannel else { return nil }
        self.init(named: mode)
    }

    public var rawValue: String { mode.rawValue }

    private init(named mode: Mode) {
        self.mode = mode
        table = (0..<3).flatMap { channel in (0..<256).map { Float(Self.value(Double($0), channel: channel, mode: mode)) } }
    }

    /// (x / 255 − mean[c]) / std[c] for RGB channel c; nil unless three finite means and three
    /// finite, non-zero deviations are given.
    public static func perChannel(mean: [Double], std: [Double]) -> Normalization? {
        guard mean.count == 3, std.count == 3, (mean + std).allSatisfy(\.isFinite), !std.contains(0) else { return nil }
        return Normalization(perChannel: mean, std: std)
    }

    private init(perChannel mean: [Double], std: [Double]) {
        mode = .perChannel
        table = (0..<3).flatMap { channel in (0..<256).map { Float((Double($0) / 255 - mean[channel]) / std[channel]) } }
    }

    /// Writes the image as planar float C×H×W, planes in this mode's channel order (RGB, or BGR
    /// for `caffe`), starting at `destination`: one image's slot of an NCHW batch tensor,
    /// `3 × height × width` floats.
    public func write(_ image: RGBImage, to destination: UnsafeMutablePointer<Float>) {
        let plane = image.width * image.height
        let (red, green, blue) = mode == .caffe ? (destination + 2 * plane, destination + plane, destination)
                                                : (destination, destination + plane, destination + 2 * plane)
        table.withUnsafeBufferPointer { table in
            let values = table.baseAddress!
            image.pixels.withUnsafeBufferPointer { pixels in
                for i in 0..<plane {
                    red[i] = values[Int(pixels[i * 3])]
                    green[i] = values[256 + Int(pixels[i * 3 + 1])]
                    blue[i] = values[512 + Int(pixels[i * 3 + 2])]
                }
            }
        }
    }

    /// The formula of a named mode for byte `x` of RGB channel `channel` (0 red, 1 green, 2 blue).
    private static func value(_ x: Double, channel: Int, mode: Mode) -> Double {
        switch mode {
        case .torchvision, .kerasTorch: (x / 255 - [0.485, 0.456, 0.406][channel]) / [0.229, 0.224, 0.225][channel]
        case .caffe: x - [123.68, 116.779, 103.939][channel]
        case .tf: x / 127.5 - 1
        case .tfLite: (x - 127) / 128
        case .perChannel: preconditionFailure("perChannel has no fixed formula")
        }
    }
}

extension Normalization: CustomStringConvertible {
    public var description: String { rawValue }
}
