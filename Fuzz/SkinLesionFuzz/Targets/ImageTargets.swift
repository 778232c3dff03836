import Dermoscopy
import Foundation

extension FuzzTarget {
    static let imageJPEG = image(name: "image-jpeg", format: "JPEG (TurboJPEG)")
    static let imagePNG = image(name: "image-png", format: "PNG (libpng)")

    /// The limits a fuzzed image is decoded within: the real checks, with bounds small enough that
    /// one input cannot take the run's memory (libFuzzer stops at 2 GB) or seconds of decoding.
    static let fuzzLimits = DecodeLimits(maxFileBytes: 1 << 20, maxPixels: 1 << 22)

    /// Image bytes as an upload or a dataset file arrives: sniffed, bounded, decoded (at full size
    /// and DCT-scaled for a 64-pixel view), oriented. The header-only size a dataset inspection
    /// reads must agree with the full decode whenever the decode succeeds. JPEG and PNG go through
    /// the same entry point; the two targets differ in their seeds, and so in what they explore.
    private static func image(name: String, format: String) -> FuzzTarget {
        FuzzTarget(name: name, summary: "ImageDecoder.decode and .size: \(format), limits, EXIF orientation") { bytes in
            let data = Data(bytes)
            guard let image = try? ImageDecoder.decode(data, name: "fuzz", limits: fuzzLimits) else { return }
            invariant(image.pixels.count == image.width * image.height * 3, "\(image.width)×\(image.height) with \(image.pixels.count) bytes")
            let url = ScratchFile.write(bytes, as: "image")
            let size = try? ImageDecoder.size(contentsOf: url, limits: fuzzLimits)
            invariant(size.map { $0 == (image.width, image.height) } ?? false,
                      "size \(size.map { "\($0.width)×\($0.height)" } ?? "failed") but decoded \(image.width)×\(image.height)")
            if let scaled = try? ImageDecoder.decode(data, name: "fuzz", minimumSize: (64, 64), limits: fuzzLimits) {
                invariant(scaled.width >= min(64, image.width) && scaled.height >= min(64, image.height)
                          && scaled.pixels.count == scaled.width * scaled.height * 3,
                          "scaled decode \(scaled.width)×\(scaled.height) of \(image.width)×\(image.height)")
            }
        }
    }
}
