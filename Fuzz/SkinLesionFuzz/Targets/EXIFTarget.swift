@testable import Dermoscopy

extension FuzzTarget {
    /// The EXIF Orientation tag, read from a TIFF structure in either byte order, and the marker and
    /// chunk walks that find it in a JPEG's APP1 segment or a PNG's eXIf chunk. Each reads the
    /// fuzzer's exact buffer, so AddressSanitizer sees any read past its end. The orientation found
    /// must then turn a small image into one of the right shape.
    static let exifOrientation = FuzzTarget(name: "exif-orientation", summary: "EXIFOrientation(tiff:), JPEGMarkers, PNGChunks: header walks before decoding") { bytes in
        let orientations = [EXIFOrientation(tiff: bytes), JPEGMarkers(bytes).orientation, PNGChunks(bytes).orientation]
        let stored = RGBImage(width: 3, height: 2, pixels: (0..<18).map(UInt8.init))
        for orientation in orientations {
            let upright = orientation.apply(stored)
            let expected = orientation.swapsAxes ? (2, 3) : (3, 2)
            invariant((upright.width, upright.height) == expected && upright.pixels.sorted() == stored.pixels,
                      "\(orientation) made \(upright.width)×\(upright.height) of 3×2")
        }
    }
}
