import CImageCodecs

/// PNG through libpng's simplified API (`png_image_*`). The classic API reports errors by
/// `longjmp`, which must never cross Swift frames; the simplified API catches them inside libpng
/// and returns a status and a message instead.
///
/// Every PNG variant becomes 8-bit RGB: palettes are expanded, gray is replicated, 16-bit
/// samples are reduced to 8 bits (read as sRGB-encoded when the file has no gAMA/sRGB chunk,
/// as Pillow does), interlaced files are de-interlaced. Alpha (an alpha channel or tRNS) is
/// dropped without compositing, keeping each pixel's stored colour: that is what Pillow's
/// `convert("RGB")` does, and with it the torchvision and Keras loaders models are trained with.
/// One difference from Pillow remains: the simplified API honours a gAMA chunk far from sRGB's
/// gamma (a linear-light file, say) by converting to sRGB, where Pillow passes values through.
enum PNGDecoder {
    static func decode(_ bytes: UnsafeRawBufferPointer, file: String, limits: DecodeLimits) throws -> RGBImage {
        let chunks = PNGChunks(bytes)
        _ = try checkedSize(chunks, file: file, limits: limits)
        var image = png_image()
        image.version = png_uint_32(PNG_IMAGE_VERSION)
        defer { png_image_free(&image) }
        guard png_image_begin_read_from_memory(&image, bytes.baseAddress, bytes.count) != 0 else {
            throw failure(image, file: file)
        }
        let hasAlpha = image.format & PNG_FORMAT_FLAG_ALPHA != 0
        image.format = PNG_FORMAT_RGB | (hasAlpha ? PNG_FORMAT_FLAG_ALPHA : 0)
        image.flags |= png_uint_32(PNG_IMAGE_FLAG_16BIT_sRGB)
        let width = Int(image.width), height = Int(image.height), channels = hasAlpha ? 4 : 3
        var status: Int32 = 0
        let decoded = [UInt8](unsafeUninitializedCapacity: width * height * channels) { buffer, count in
            status = png_image_finish_read(&image, nil, buffer.baseAddress, 0, nil)
            count = status != 0 ? buffer.count : 0
        }
        guard status != 0 else { throw failure(image, file: file) }
        let rgb = hasAlpha ? dropAlpha(decoded) : decoded
        return chunks.orientation.apply(RGBImage(width: width, height: height, pixels: rgb))
    }

    /// Upright width and height from IHDR and eXIf; nil when `bytes` is a prefix of the file
    /// that ends before the first IDAT, so the caller should read further.
    static func size(_ bytes: UnsafeRawBufferPointer, isWholeFile: Bool, file: String,
                     limits: DecodeLimits) throws -> (width: Int, height: Int)? {
        let chunks = PNGChunks(bytes)
        guard chunks.reachesImageData || isWholeFile else { return nil }
        let (width, height) = try checkedSize(chunks, file: file, limits: limits)
        return chunks.orientation.swapsAxes ? (height, width) : (width, height)
    }

    private static func checkedSize(_ chunks: PNGChunks, file: String, limits: DecodeLimits) throws -> (Int, Int) {
        guard let (width, height) = chunks.size else {
            throw ImageError(file: file, message: "invalid PNG data (missing or damaged IHDR chunk)")
        }
        try limits.checkPixels(width: width, height: height, format: .png, file: file)
        return (width, height)
    }

    private static func failure(_ image: png_image, file: String) -> ImageError {
        let detail = withUnsafeBytes(of: image.message) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        let truncated = detail.contains("beyond end of data") || detail.contains("Not enough image data")
        return ImageError(file: file, message: "\(truncated ? "truncated" : "invalid") PNG data (\(detail))")
    }

    private static func dropAlpha(_ rgba: [UInt8]) -> [UInt8] {
        let pixels = rgba.count / 4
        return [UInt8](unsafeUninitializedCapacity: pixels * 3) { rgb, count in
            rgba.withUnsafeBufferPointer { source in
                for i in 0..<pixels {
                    rgb[i * 3] = source[i * 4]
                    rgb[i * 3 + 1] = source[i * 4 + 1]
                    rgb[i * 3 + 2] = source[i * 4 + 2]
                }
            }
            count = pixels * 3
        }
    }
}
