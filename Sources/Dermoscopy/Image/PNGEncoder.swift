import CImageCodecs
import Foundation
import NeuralNet

/// Writes 8-bit RGB PNGs (heatmap overlays) through libpng's simplified API, which reports
/// errors in `png_image.message` instead of longjmp-ing through Swift frames.
public enum PNGEncoder {
    public static func encode(_ image: RGBImage) throws -> Data {
        var png = png_image()
        png.version = UInt32(PNG_IMAGE_VERSION)
        png.width = UInt32(image.width)
        png.height = UInt32(image.height)
        png.format = UInt32(PNG_FORMAT_RGB)
        defer { png_image_free(&png) }
        // The first call, with no buffer, only measures the compressed size.
        var size: png_alloc_size_t = 0
        try image.pixels.withUnsafeBytes { pixels in
            try check(png_image_write_to_memory(&png, nil, &size, 0, pixels.baseAddress, 0, nil), &png)
        }
        var data = Data(count: Int(size))
        try data.withUnsafeMutableBytes { memory in
            try image.pixels.withUnsafeBytes { pixels in
                try check(png_image_write_to_memory(&png, memory.baseAddress, &size, 0, pixels.baseAddress, 0, nil), &png)
            }
        }
        return data.prefix(Int(size))
    }

    public static func write(_ image: RGBImage, to url: URL) throws {
        try AtomicFile.write(encode(image), to: url)
    }

    private static func check(_ status: Int32, _ png: inout png_image) throws {
        guard status == 0 else { return }
        let message = withUnsafeBytes(of: png.message) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        throw ImageError(file: "PNG encoder", message: "libpng cannot write the image: \(message)")
    }
}
