import Foundation

/// The encodings the decoder reads, recognised by their magic bytes and never by the file
/// extension: datasets and uploads routinely carry PNGs named `.jpg` and the reverse.
public enum ImageFormat: Sendable, CustomStringConvertible {
    case jpeg
    case png

    private static let jpegMagic: [UInt8] = [0xFF, 0xD8, 0xFF]
    private static let pngMagic: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

    public static func sniff(_ bytes: UnsafeRawBufferPointer) -> ImageFormat? {
        if bytes.starts(with: jpegMagic) { return .jpeg }
        if bytes.starts(with: pngMagic) { return .png }
        return nil
    }

    public static func sniff(_ data: Data) -> ImageFormat? {
        data.withUnsafeBytes { sniff($0) }
    }

    public var description: String {
        switch self {
        case .jpeg: "JPEG"
        case .png: "PNG"
        }
    }

    /// The error for bytes that are neither format, quoting how they start so the user can tell
    /// an HTML error page or a HEIC photo from a damaged file.
    static func unrecognised(_ bytes: UnsafeRawBufferPointer, file: String) -> ImageError {
        guard !bytes.isEmpty else {
            return ImageError(file: file, message: "empty file (expected a JPEG or PNG image)")
        }
        let head = bytes.prefix(8).map { String(format: "%02X", $0) }.joined(separator: " ")
        return ImageError(file: file, message: "not a JPEG or PNG image (expected FF D8 FF or 89 50 4E 47, "
            + "found \(head))")
    }
}
