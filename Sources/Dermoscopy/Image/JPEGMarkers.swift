/// What the JPEG marker segments before the first scan say that TurboJPEG's header call does
/// not: the EXIF orientation and whether an Adobe APP14 segment is present (Adobe's CMYK JPEGs
/// store inverted ink values).
struct JPEGMarkers {
    var orientation = EXIFOrientation.topLeft
    var hasAdobeSegment = false
    /// Whether the walk reached the start-of-scan header, so every header segment was seen;
    /// false for a prefix that ends early or a marker structure the walk cannot follow.
    var reachesScan = false

    private static let exifSignature = Array("Exif\0\0".utf8)
    private static let adobeSignature = Array("Adobe".utf8)

    init(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count >= 2, bytes[0] == 0xFF, bytes[1] == 0xD8 else { return }
        var at = 2
        var sawExif = false
        while at < bytes.count, bytes[at] == 0xFF {
            while at < bytes.count, bytes[at] == 0xFF { at += 1 }  // fill bytes
            guard at < bytes.count else { return }
            let marker = bytes[at]
            at += 1
            // Markers without a length field: TEM, RSTn, SOI; EOI means no image follows.
            if marker == 0x01 || (0xD0...0xD8).contains(marker) { continue }
            if marker == 0xD9 { return }
            guard at + 2 <= bytes.count else { return }
            let length = Int(bytes[at]) << 8 | Int(bytes[at + 1])
            guard length >= 2, at + length <= bytes.count else { return }
            let body = UnsafeRawBufferPointer(rebasing: bytes[(at + 2)..<(at + length)])
            switch marker {
            case 0xE1 where !sawExif && body.starts(with: Self.exifSignature):
                sawExif = true
                orientation = EXIFOrientation(tiff: UnsafeRawBufferPointer(rebasing: body[6...]))
            case 0xEE where body.starts(with: Self.adobeSignature):
                hasAdobeSegment = true
            case 0xDA:
                reachesScan = true
                return
            default:
                break
            }
            at += length
        }
    }
}
