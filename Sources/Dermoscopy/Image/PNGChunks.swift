/// The PNG chunks read before libpng sees the file: IHDR's dimensions, so the pixel limit is
/// enforced before libpng sets anything up, and eXIf's orientation, which libpng's simplified
/// API does not expose. Only chunks before the first IDAT count, where the eXIf extension
/// requires the chunk to be.
struct PNGChunks {
    /// Width and height from an IHDR chunk in its required place, first after the signature.
    private(set) var size: (width: Int, height: Int)?
    private(set) var orientation = EXIFOrientation.topLeft
    /// Whether the walk reached the first IDAT chunk, so every header chunk was seen.
    private(set) var reachesImageData = false

    private static let exifPrefix = Array("Exif\0\0".utf8)

    init(_ bytes: UnsafeRawBufferPointer) {
        func u32(_ at: Int) -> Int {
            bytes[at..<(at + 4)].reduce(0) { $0 << 8 | Int($1) }
        }
        var at = 8  // after the signature
        while at + 8 <= bytes.count {
            let length = u32(at), type = u32(at + 4)
            if type == 0x4944_4154 {  // IDAT
                reachesImageData = true
                return
            }
            let end = at + 8 + length + 4  // length, type, data, CRC
            guard length <= 0x7FFF_FFFF, end <= bytes.count else { return }
            let data = UnsafeRawBufferPointer(rebasing: bytes[(at + 8)..<(end - 4)])
            switch type {
            case 0x4948_4452 where at == 8 && length == 13:  // IHDR
                size = (u32(at + 8), u32(at + 12))
            case 0x6558_4966:  // eXIf, with or without the JPEG-style "Exif\0\0" some writers add
                orientation = EXIFOrientation(tiff: data.starts(with: Self.exifPrefix)
                    ? UnsafeRawBufferPointer(rebasing: data[6...]) : data)
            default:
                break
            }
            at = end
        }
    }
}
