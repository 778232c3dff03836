/// An 8-bit RGB image, rows top to bottom, pixels interleaved (R, G, B): what every decoder
/// produces and every augmentation consumes, so the pipeline never converts in between.
public struct RGBImage: Sendable, Equatable {
    public let width: Int
    public let height: Int
    /// `height × width × 3` bytes.
    public var pixels: [UInt8]

    public init(width: Int, height: Int, pixels: [UInt8]) {
        precondition(width > 0 && height > 0 && pixels.count == width * height * 3,
                     "RGBImage \(width)×\(height) needs \(width * height * 3) bytes, got \(pixels.count)")
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    public init(width: Int, height: Int, filledWith rgb: (UInt8, UInt8, UInt8) = (0, 0, 0)) {
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        for i in stride(from: 0, to: pixels.count, by: 3) { (pixels[i], pixels[i + 1], pixels[i + 2]) = rgb }
        self.init(width: width, height: height, pixels: pixels)
    }

    /// The three channel values of pixel (x, y).
    public subscript(x: Int, y: Int) -> (UInt8, UInt8, UInt8) {
        let i = (y * width + x) * 3
        return (pixels[i], pixels[i + 1], pixels[i + 2])
    }
}
