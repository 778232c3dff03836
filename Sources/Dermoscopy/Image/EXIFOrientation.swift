/// The EXIF/TIFF Orientation tag (0x0112): how the stored pixel rows must be flipped or rotated
/// to show the picture upright. Phones and some dermatoscope cameras store the sensor's rows and
/// only set this tag, so ignoring it feeds the network a rotated or mirrored lesion.
///
/// Case names are the TIFF names: where the stored first row and first column belong, e.g.
/// `rightTop` (6) means the first stored row is the right-hand column of the upright picture.
enum EXIFOrientation: Int, Sendable {
    case topLeft = 1, topRight, bottomRight, bottomLeft, leftTop, rightTop, rightBottom, leftBottom

    /// Whether upright width and height are the stored height and width.
    var swapsAxes: Bool { rawValue >= 5 }

    /// Reads the Orientation tag from IFD0 of a TIFF structure (the body of a JPEG "Exif\0\0"
    /// APP1 segment or of a PNG eXIf chunk), in either byte order. Missing, malformed or
    /// out-of-range values mean `.topLeft`: broken metadata is no reason to reject the pixels.
    init(tiff: UnsafeRawBufferPointer) {
        self = .topLeft
        guard tiff.count >= 8 else { return }
        let bigEndian: Bool
        switch (tiff[0], tiff[1]) {
        case (0x49, 0x49): bigEndian = false
        case (0x4D, 0x4D): bigEndian = true
        default: return
        }
        func u16(_ at: Int) -> Int? {
            guard at >= 0, at + 2 <= tiff.count else { return nil }
            return bigEndian ? Int(tiff[at]) << 8 | Int(tiff[at + 1]) : Int(tiff[at + 1]) << 8 | Int(tiff[at])
        }
        func u32(_ at: Int) -> Int? {
            guard let a = u16(at), let b = u16(at + 2) else { return nil }
            return bigEndian ? a << 16 | b : b << 16 | a
        }
        guard u16(2) == 42, let ifd = u32(4), let entries = u16(ifd) else { return }
        for entry in 0..<entries {
            let at = ifd + 2 + entry * 12
            guard let tag = u16(at) else { return }
            // Type 3 is SHORT; a count of 1 keeps the value inline in the entry.
            guard tag == 0x0112 else { continue }
            if u16(at + 2) == 3, u32(at + 4) == 1, let value = u16(at + 8), let orientation = EXIFOrientation(rawValue: value) {
                self = orientation
            }
            return
        }
    }

    /// The upright image. Each case is a walk over the stored pixels: where output pixel (0, 0)
    /// comes from and how far to step (in pixels) for the next output column and the next row.
    func apply(_ image: RGBImage) -> RGBImage {
        guard self != .topLeft else { return image }
        let w = image.width, h = image.height
        let last = w * h - 1, lastRow = (h - 1) * w
        let (start, columnStep, rowStep): (Int, Int, Int) = switch self {
        case .topLeft: (0, 1, w)
        case .topRight: (w - 1, -1, w)      // mirror left–right
        case .bottomRight: (last, -1, -w)   // rotate 180°
        case .bottomLeft: (lastRow, 1, -w)  // mirror top–bottom
        case .leftTop: (0, w, 1)            // transpose
        case .rightTop: (lastRow, -w, 1)    // rotate 90° clockwise
        case .rightBottom: (last, -w, -1)   // transverse
        case .leftBottom: (w - 1, w, -1)    // rotate 90° counter-clockwise
        }
        let (outWidth, outHeight) = swapsAxes ? (h, w) : (w, h)
        let pixels = [UInt8](unsafeUninitializedCapacity: w * h * 3) { out, count in
            image.pixels.withUnsafeBufferPointer { source in
                var o = 0
                for y in 0..<outHeight {
                    var s = (start + y * rowStep) * 3
                    for _ in 0..<outWidth {
                        out[o] = source[s]
                        out[o + 1] = source[s + 1]
                        out[o + 2] = source[s + 2]
                        o += 3
                        s += columnStep * 3
                    }
                }
            }
            count = w * h * 3
        }
        return RGBImage(width: outWidth, height: outHeight, pixels: pixels)
    }
}
