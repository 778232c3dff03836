import CImageCodecs

/// JPEG through TurboJPEG: straight to interleaved RGB for YCbCr and grayscale files, through a
/// CMYK buffer for CMYK/YCCK files, optionally with DCT-domain downscaling.
enum JPEGDecoder {
    private struct Header {
        let width: Int
        let height: Int
        let isCMYK: Bool
    }

    static func decode(_ bytes: UnsafeRawBufferPointer, file: String, minimumSize: (width: Int, height: Int)?,
                       limits: DecodeLimits) throws -> RGBImage {
        let markers = JPEGMarkers(bytes)
        return try withDecompressor(file: file) { handle in
            let header = try readHeader(handle, bytes, file: file, limits: limits)
            let reduction = minimumSize.map { minimum in
                largestReduction(of: header, keepingAtLeast: markers.orientation.swapsAxes
                    ? (minimum.height, minimum.width) : (minimum.width, minimum.height))
            } ?? 1
            let width = (header.width + reduction - 1) / reduction
            let height = (header.height + reduction - 1) / reduction
            let format = header.isCMYK ? TJPF_CMYK : TJPF_RGB
            let count = width * height * (header.isCMYK ? 4 : 3)
            var status: Int32 = 0
            let decoded = [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
                // Any warning stops the decode and fails it: libjpeg "recovers" from a cut-off
                // file or damaged entropy-coded data by painting the rest flat gray, and TurboJPEG
                // keeps only the first warning's text, so a harmless warning (extraneous bytes
                // before a marker) cannot be told apart from a serious one after it.
                status = tjDecompress2(handle, bytes.baseAddress!.assumingMemoryBound(to: UInt8.self),
                                       UInt(bytes.count), buffer.baseAddress, Int32(width), 0, Int32(height),
                                       format.rawValue, TJFLAG_STOPONWARNING)
                initialized = status == 0 ? count : 0
            }
            guard status == 0 else { throw decodeFailure(handle, file: file) }
            let rgb = header.isCMYK ? rgbFromCMYK(decoded, inverted: markers.hasAdobeSegment) : decoded
            return markers.orientation.apply(RGBImage(width: width, height: height, pixels: rgb))
        }
    }

    /// Upright width and height from the header segments alone; nil when `bytes` is a prefix
    /// of the file that ends before the scan header, so the caller should read further.
    static func size(_ bytes: UnsafeRawBufferPointer, isWholeFile: Bool, file: String,
                     limits: DecodeLimits) throws -> (width: Int, height: Int)? {
        let markers = JPEGMarkers(bytes)
        guard markers.reachesScan || isWholeFile else { return nil }
        let header = try withDecompressor(file: file) { try readHeader($0, bytes, file: file, limits: limits) }
        return markers.orientation.swapsAxes ? (header.height, header.width) : (header.width, header.height)
    }

    /// One decompressor per call: a handle is not thread-safe, it costs microseconds next to
    /// milliseconds of decoding, and no handle outlives an error.
    private static func withDecompressor<T>(file: String, _ body: (tjhandle) throws -> T) throws -> T {
        guard let handle = tjInitDecompress() else {
            throw ImageError(file: file, message: "cannot start the JPEG decoder (\(String(cString: tjGetErrorStr2(nil))))")
        }
        defer { tjDestroy(handle) }
        return try body(handle)
    }

    private static func readHeader(_ handle: tjhandle, _ bytes: UnsafeRawBufferPointer, file: String,
                                   limits: DecodeLimits) throws -> Header {
        var width: Int32 = 0, height: Int32 = 0, subsampling: Int32 = 0, colorspace: Int32 = 0
        guard tjDecompressHeader3(handle, bytes.baseAddress!.assumingMemoryBound(to: UInt8.self), UInt(bytes.count),
                                  &width, &height, &subsampling, &colorspace) == 0 else {
            throw ImageError(file: file, message: "invalid JPEG header (\(String(cString: tjGetErrorStr2(handle))))")
        }
        // TurboJPEG 2.1 reports success with a 0×0 size when the data ends before any frame header.
        guard width > 0, height > 0 else {
            throw ImageError(file: file, message: "invalid JPEG header (no frame header before the end of the data)")
        }
        try limits.checkPixels(width: Int(width), height: Int(height), format: .jpeg, file: file)
        let isCMYK = colorspace == Int32(TJCS_CMYK.rawValue) || colorspace == Int32(TJCS_YCCK.rawValue)
        return Header(width: Int(width), height: Int(height), isCMYK: isCMYK)
    }

    /// The power-of-two reductions TurboJPEG offers (1/2, 1/4, 1/8): libjpeg-turbo has SIMD
    /// inverse DCTs for them, and they are the ones Pillow's `draft()` uses, so a scaled decode
    /// matches Pillow's pixel for pixel.
    private static let reductions: [Int] = {
        var count: Int32 = 0
        guard let factors = tjGetScalingFactors(&count) else { return [] }
        return UnsafeBufferPointer(start: factors, count: Int(count))
            .filter { $0.num == 1 && [2, 4, 8].contains($0.denom) }
            .map { Int($0.denom) }
            .sorted()
    }()

    /// The strongest reduction whose output still covers `minimum` in both stored dimensions,
    /// or 1 when even 1/2 would not.
    private static func largestReduction(of header: Header, keepingAtLeast minimum: (Int, Int)) -> Int {
        reductions.last { reduction in
            (header.width + reduction - 1) / reduction >= minimum.0
                && (header.height + reduction - 1) / reduction >= minimum.1
        } ?? 1
    }

    private static func decodeFailure(_ handle: tjhandle, file: String) -> ImageError {
        var detail = String(cString: tjGetErrorStr2(handle))
        if detail.hasPrefix("Corrupt JPEG data: ") { detail.removeFirst("Corrupt JPEG data: ".count) }
        detail = detail.prefix(1).lowercased() + detail.dropFirst()
        let kind = detail.contains("premature end") ? "truncated" : "corrupt"
        return ImageError(file: file, message: "\(kind) JPEG data (\(detail))")
    }

    /// CMYK to RGB the way Pillow does it (R = (255 − C)(255 − K) / 255, rounded), so models
    /// trained on Pillow-decoded images see the same colours. Adobe applications write the ink
    /// values inverted and mark the file with an APP14 "Adobe" segment; that is the common case.
    private static func rgbFromCMYK(_ cmyk: [UInt8], inverted: Bool) -> [UInt8] {
        let pixels = cmyk.count / 4
        return [UInt8](unsafeUninitializedCapacity: pixels * 3) { rgb, count in
            cmyk.withUnsafeBufferPointer { source in
                let flip: UInt32 = inverted ? 0 : 255
                for i in 0..<pixels {
                    let white = UInt32(source[i * 4 + 3]) ^ flip  // 255 − K, whichever way it is stored
                    for c in 0..<3 {
                        let product = (UInt32(source[i * 4 + c]) ^ flip) * white + 128
                        rgb[i * 3 + c] = UInt8((product + (product >> 8)) >> 8)  // product / 255, rounded
                    }
                }
            }
            count = pixels * 3
        }
    }
}
