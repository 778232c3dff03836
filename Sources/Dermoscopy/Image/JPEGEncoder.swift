import CImageCodecs
import Foundation

/// JPEG encoding through TurboJPEG, for thumbnails in reports (small, and what a browser
/// shows inline as a data URI).
public enum JPEGEncoder {
    public static func encode(_ image: RGBImage, quality: Int = 85) throws -> Data {
        guard let handle = tjInitCompress() else { throw ImageError(file: "thumbnail", message: "cannot start the JPEG encoder") }
        defer { tjDestroy(handle) }
        var output: UnsafeMutablePointer<UInt8>?
        var size: UInt = 0
        let status = image.pixels.withUnsafeBufferPointer { pixels in
            tjCompress2(handle, pixels.baseAddress, Int32(image.width), 0, Int32(image.height), Int32(TJPF_RGB.rawValue),
                        &output, &size, Int32(TJSAMP_420.rawValue), Int32(max(1, min(100, quality))), 0)
        }
        defer { if let output { tjFree(output) } }
        guard status == 0, let output else {
            throw ImageError(file: "thumbnail", message: "JPEG encoding failed: \(String(cString: tjGetErrorStr2(handle)))")
        }
        return Data(bytes: output, count: Int(size))
    }
}
