/// How a backbone expects its input scaled, stored with each model so every consumer feeds it
/// the way it was trained (DESIGN.md decision 5). Values follow torchvision and
/// `keras.applications.imagenet_utils.preprocess_input`.
public enum Normalization: String, Codable, Sendable, CaseIterable {
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

    /// Writes the image as planar float C×H×W, planes in this mode's channel order (RGB, or BGR
    /// for `caffe`), starting at `destination`: one image's slot of an NCHW batch tensor,
    /// `3 × height × width` floats.
    public func write(_ image: RGBImage, to destination: UnsafeMutablePointer<Float>) {
        let plane = image.width * image.height
        let (red, green, blue) = self == .caffe ? (destination + 2 * plane, destination + plane, destination)
                                                : (destination, destination + plane, destination + 2 * plane)
        Self.tables[self]!.withUnsafeBufferPointer { table in
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

    /// For each mode, the output value of every byte of R, G and B (256 each), computed once in
    /// double precision and rounded once to Float: a lookup is faster than the arithmetic and
    /// as exact as the formula allows.
    private static let tables: [Normalization: [Float]] = Dictionary(uniqueKeysWithValues: allCases.map { mode in
        (mode, (0..<3).flatMap { channel in (0..<256).map { Float(mode.value(Double($0), channel: channel)) } })
    })

    /// The formula for byte `x` of RGB channel `channel` (0 red, 1 green, 2 blue).
    private func value(_ x: Double, channel: Int) -> Double {
        switch self {
        case .torchvision, .kerasTorch: (x / 255 - [0.485, 0.456, 0.406][channel]) / [0.229, 0.224, 0.225][channel]
        case .caffe: x - [123.68, 116.779, 103.939][channel]
        case .tf: x / 127.5 - 1
        case .tfLite: (x - 127) / 128
        }
    }
}
