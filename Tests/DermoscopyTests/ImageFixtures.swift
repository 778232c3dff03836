import CImageCodecs
import Foundation

/// Builds the JPEG and PNG files the decoder tests need, in memory: JPEGs with TurboJPEG's
/// compressor (then edited at the marker level), PNGs byte by byte (zlib stored blocks, CRC-32,
/// Adler-32), so every variant — 16-bit, palette with tRNS, Adam7, eXIf — is exactly what the
/// test says it is, with no encoder in between that might normalise it away.
enum ImageFixtures {
    struct FixtureError: Error, CustomStringConvertible {
        let description: String
    }

    // MARK: JPEG

    /// `pixels` in `format` (TJPF_RGB, TJPF_GRAY or TJPF_CMYK), 4:4:4 or gray, at `quality`.
    static func jpeg(width: Int, height: Int, pixels: [UInt8], format: TJPF = TJPF_RGB, quality: Int32 = 100) throws -> [UInt8] {
        guard let handle = tjInitCompress() else { throw FixtureError(description: "tjInitCompress failed") }
        defer { tjDestroy(handle) }
        var output: UnsafeMutablePointer<UInt8>?
        var size: UInt = 0
        let subsampling = format == TJPF_GRAY ? TJSAMP_GRAY : TJSAMP_444
        let status = pixels.withUnsafeBufferPointer {
            tjCompress2(handle, $0.baseAddress, Int32(width), 0, Int32(height), format.rawValue, &output, &size,
                        Int32(subsampling.rawValue), quality, 0)
        }
        defer { tjFree(output) }
        guard status == 0, let output else {
            throw FixtureError(description: "tjCompress2: \(String(cString: tjGetErrorStr2(handle)))")
        }
        return Array(UnsafeBufferPointer(start: output, count: Int(size)))
    }

    /// A `width`×`height` RGB image of `columns.count` × `rows` solid 8×8 blocks, colours
    /// row-major from `colors`: block edges coincide with JPEG blocks, so colours survive q100
    /// compression almost exactly.
    static func blocks(_ colors: [(UInt8, UInt8, UInt8)], columns: Int) -> (width: Int, height: Int, pixels: [UInt8]) {
        let rows = colors.count / columns
        let width = columns * 8, height = rows * 8
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        for y in 0..<height {
            for x in 0..<width {
                let color = colors[(y / 8) * columns + x / 8]
                (pixels[(y * width + x) * 3], pixels[(y * width + x) * 3 + 1], pixels[(y * width + x) * 3 + 2]) = color
            }
        }
        return (width, height, pixels)
    }

    /// `jpeg` with a marker segment inserted right after SOI.
    static func inserting(marker: UInt8, body: [UInt8], into jpeg: [UInt8]) -> [UInt8] {
        let length = body.count + 2
        return Array(jpeg[0..<2]) + [0xFF, marker, UInt8(length >> 8), UInt8(length & 0xFF)] + body + Array(jpeg[2...])
    }

    /// `jpeg` with an APP1 "Exif" segment whose IFD0 holds a Make tag and then Orientation.
    static func withOrientation(_ orientation: Int, bigEndian: Bool, _ jpeg: [UInt8]) -> [UInt8] {
        inserting(marker: 0xE1, body: Array("Exif\0\0".utf8) + tiff(orientation: orientation, bigEndian: bigEndian), into: jpeg)
    }

    /// A TIFF structure with IFD0 = { Make = "Cam", Orientation = `orientation` }.
    static func tiff(orientation: Int, bigEndian: Bool) -> [UInt8] {
        func u16(_ v: Int) -> [UInt8] {
            let bytes = [UInt8(v >> 8), UInt8(v & 0xFF)]
            return bigEndian ? bytes : bytes.reversed()
        }
        func u32(_ v: Int) -> [UInt8] { bigEndian ? u16(v >> 16) + u16(v & 0xFFFF) : u16(v & 0xFFFF) + u16(v >> 16) }
        return Array((bigEndian ? "MM" : "II").utf8) + u16(42) + u32(8)
            + u16(2)
            + u16(0x010F) + u16(2) + u32(4) + Array("Cam\0".utf8)
            + u16(0x0112) + u16(3) + u32(1) + u16(orientation) + [0, 0]
            + u32(0)
    }

    /// `jpeg` with the frame header (SOF0) rewritten to declare `width`×`height`.
    static func declaringSize(width: Int, height: Int, _ jpeg: [UInt8]) throws -> [UInt8] {
        var bytes = jpeg
        var at = 2
        while at + 4 <= bytes.count, bytes[at] == 0xFF {
            let marker = bytes[at + 1]
            let length = Int(bytes[at + 2]) << 8 | Int(bytes[at + 3])
            if marker == 0xC0 {
                bytes[at + 5] = UInt8(height >> 8); bytes[at + 6] = UInt8(height & 0xFF)
                bytes[at + 7] = UInt8(width >> 8); bytes[at + 8] = UInt8(width & 0xFF)
                return bytes
            }
            at += 2 + length
        }
        throw FixtureError(description: "no SOF0 segment")
    }

    // MARK: PNG

    /// A PNG whose `samples` are the image's rows without filter bytes (bit depth 8 or 16,
    /// 16-bit samples big-endian), stored unfiltered in zlib stored blocks; Adam7-interlaced
    /// when asked. `chunks` go between IHDR and IDAT.
    static func png(width: Int, height: Int, colorType: UInt8, bitDepth: UInt8 = 8, samples: [UInt8],
                    interlaced: Bool = false, chunks: [(type: String, data: [UInt8])] = []) -> [UInt8] {
        let channels = [0: 1, 2: 3, 3: 1, 4: 2, 6: 4][Int(colorType)]!
        let pixelBytes = channels * Int(bitDepth) / 8
        precondition(samples.count == width * height * pixelBytes)
        // Adam7 passes as (first column, first row, column step, row step); one pass when not interlaced.
        let passes = interlaced
            ? [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]
            : [(0, 0, 1, 1)]
        var scanlines: [UInt8] = []
        for (x0, y0, dx, dy) in passes where x0 < width && y0 < height {
            for y in stride(from: y0, to: height, by: dy) {
                scanlines.append(0)  // filter type None
                for x in stride(from: x0, to: width, by: dx) {
                    let at = (y * width + x) * pixelBytes
                    scanlines += samples[at..<(at + pixelBytes)]
                }
            }
        }
        let header = u32(width) + u32(height) + [bitDepth, colorType, 0, 0, interlaced ? 1 : 0]
        return pngFile([("IHDR", header)] + chunks + [("IDAT", zlibStored(scanlines))])
    }

    /// A PNG whose IHDR declares `width`×`height` RGB but whose IDAT holds one empty row.
    static func png(claimingWidth width: Int, height: Int) -> [UInt8] {
        pngFile([("IHDR", u32(width) + u32(height) + [8, 2, 0, 0, 0]), ("IDAT", zlibStored([0]))])
    }

    private static func pngFile(_ chunks: [(type: String, data: [UInt8])]) -> [UInt8] {
        var file: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        for (type, data) in chunks + [("IEND", [])] {
            let typed = Array(type.utf8) + data
            file += u32(data.count) + typed + u32(Int(crc32(typed)))
        }
        return file
    }

    private static func u32(_ v: Int) -> [UInt8] {
        [UInt8(v >> 24 & 0xFF), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)]
    }

    /// A zlib stream of uncompressed ("stored") deflate blocks.
    private static func zlibStored(_ data: [UInt8]) -> [UInt8] {
        var stream: [UInt8] = [0x78, 0x01]
        var at = 0
        repeat {
            let count = min(65535, data.count - at)
            let final: UInt8 = at + count == data.count ? 1 : 0
            stream += [final, UInt8(count & 0xFF), UInt8(count >> 8), UInt8(~count & 0xFF), UInt8(~count >> 8 & 0xFF)]
            stream += data[at..<(at + count)]
            at += count
        } while at < data.count
        var a: UInt32 = 1, b: UInt32 = 0
        for byte in data {
            a = (a + UInt32(byte)) % 65521
            b = (b + a) % 65521
        }
        return stream + u32(Int(b << 16 | a))
    }

    private static let crcTable: [UInt32] = (0..<256).map { n in
        (0..<8).reduce(UInt32(n)) { c, _ in c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
    }

    private static func crc32(_ bytes: [UInt8]) -> UInt32 {
        ~bytes.reduce(~UInt32(0)) { c, byte in crcTable[Int((c ^ UInt32(byte)) & 0xFF)] ^ (c >> 8) }
    }

    // MARK: Files

    /// A fresh directory under the system temporary directory, removed when the test ends.
    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("skinlesion-image-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}
