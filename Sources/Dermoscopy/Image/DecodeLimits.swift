/// Bounds checked before any image-sized allocation, so a hostile or broken file (a PNG header
/// claiming 100000×100000, a multi-gigabyte upload) fails at once instead of exhausting memory.
public struct DecodeLimits: Sendable {
    /// Largest encoded file or upload accepted, in bytes.
    public var maxFileBytes: Int = 64 << 20
    /// Largest width × height the header may declare (before any DCT scaling).
    public var maxPixels: Int = 64_000_000

    public static let standard = DecodeLimits()

    public init(maxFileBytes: Int = 64 << 20, maxPixels: Int = 64_000_000) {
        self.maxFileBytes = maxFileBytes
        self.maxPixels = maxPixels
    }

    func checkFileSize(_ bytes: Int, file: String) throws {
        guard bytes <= maxFileBytes else {
            throw ImageError(file: file, message: "file is \(bytes) bytes, over the limit of \(maxFileBytes) bytes")
        }
    }

    /// Checks dimensions read from a header; the product is computed without overflow because
    /// both factors come from 16- or 31-bit header fields.
    func checkPixels(width: Int, height: Int, format: ImageFormat, file: String) throws {
        guard width > 0, height > 0 else {
            throw ImageError(file: file, message: "\(format) header declares an empty image (\(width)×\(height))")
        }
        let pixels = width.multipliedReportingOverflow(by: height)
        guard !pixels.overflow, pixels.partialValue <= maxPixels else {
            let count = pixels.overflow ? "more than \(Int.max)" : "\(pixels.partialValue)"
            throw ImageError(file: file, message: "\(format) header declares \(width)×\(height) pixels (\(count)), "
                + "over the limit of \(maxPixels) pixels")
        }
    }
}
