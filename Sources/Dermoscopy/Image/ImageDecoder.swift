import Foundation

/// The one way images enter the pipeline: dataset files and uploads alike are sniffed by their
/// bytes, bounded by `DecodeLimits`, decoded to upright 8-bit RGB, and every failure is an
/// `ImageError` naming the file.
public enum ImageDecoder {
    /// Decodes the file at `url`, applies its EXIF orientation, and converts gray, CMYK, 16-bit,
    /// alpha and palette images to 8-bit RGB.
    ///
    /// With `minimumSize` (upright width and height), a JPEG about twice that size or more is
    /// downscaled while decoding by TurboJPEG's DCT scaling: the strongest of 1/2, 1/4 and 1/8
    /// whose output still covers `minimumSize` in both dimensions (orientation taken into
    /// account). That skips most of the inverse DCT and colour conversion, and the caller's
    /// resize starts from a smaller image. PNGs are always decoded at full size.
    ///
    /// A file libjpeg would merely patch up (cut off, damaged entropy-coded data) is an error,
    /// never an image padded with gray.
    public static func decode(contentsOf url: URL, minimumSize: (width: Int, height: Int)? = nil,
                              limits: DecodeLimits = .standard) throws -> RGBImage {
        let file = try ImageFile.load(url, limits: limits)
        return try file.bytes.withUnsafeBytes {
            try decode($0, file: url.path, minimumSize: minimumSize, limits: limits)
        }
    }

    /// Decodes bytes that are not a file (an upload); `name` stands in for the path in errors.
    public static func decode(_ data: Data, name: String, minimumSize: (width: Int, height: Int)? = nil,
                              limits: DecodeLimits = .standard) throws -> RGBImage {
        try limits.checkFileSize(data.count, file: name)
        return try data.withUnsafeBytes { try decode($0, file: name, minimumSize: minimumSize, limits: limits) }
    }

    /// Upright width and height read from the header alone, for inspecting a dataset without
    /// decoding it: the first 64 KiB usually hold every header segment, and the rest of the
    /// file is read only when they do not (a large EXIF thumbnail). Checks the same limits as
    /// `decode`, but not the image data.
    public static func size(contentsOf url: URL, limits: DecodeLimits = .standard) throws -> (width: Int, height: Int) {
        var file = try ImageFile.load(url, limits: limits, upTo: 64 << 10)
        var isWholeFile = file.bytes.count == file.fileSize
        while true {
            let size = try file.bytes.withUnsafeBytes { bytes -> (width: Int, height: Int)? in
                switch ImageFormat.sniff(bytes) {
                case .jpeg: try JPEGDecoder.size(bytes, isWholeFile: isWholeFile, file: url.path, limits: limits)
                case .png: try PNGDecoder.size(bytes, isWholeFile: isWholeFile, file: url.path, limits: limits)
                case nil: throw ImageFormat.unrecognised(bytes, file: url.path)
                }
            }
            if let size { return size }
            file = try ImageFile.load(url, limits: limits)
            isWholeFile = true  // all there is, even if the file changed since the first read
        }
    }

    private static func decode(_ bytes: UnsafeRawBufferPointer, file: String, minimumSize: (width: Int, height: Int)?,
                               limits: DecodeLimits) throws -> RGBImage {
        switch ImageFormat.sniff(bytes) {
        case .jpeg: try JPEGDecoder.decode(bytes, file: file, minimumSize: minimumSize, limits: limits)
        case .png: try PNGDecoder.decode(bytes, file: file, limits: limits)
        case nil: throw ImageFormat.unrecognised(bytes, file: file)
        }
    }
}
