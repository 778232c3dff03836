import Foundation

/// Reads one member of a zip archive that stores it uncompressed, which is how Keras 3
/// writes `.keras` files (Python's `zipfile` default, ZIP_STORED). Enough of the format to
/// find a member through the central directory; anything else (compressed, encrypted,
/// ZIP64) is an error that says so rather than a guess.
enum StoredZip {
    static let signature: [UInt8] = [0x50, 0x4B, 0x03, 0x04]

    static func member(_ wanted: String, in data: Data, file: String) throws -> Data {
        let bytes = [UInt8](data)
        func fail(_ message: String) -> KerasImportError { KerasImportError(file: file, "zip: \(message)") }
        func u16(_ at: Int) throws -> Int {
            guard at >= 0, at + 2 <= bytes.count else { throw fail("truncated") }
            return Int(bytes[at]) | Int(bytes[at + 1]) << 8
        }
        func u32(_ at: Int) throws -> Int { try u16(at) | u16(at + 2) << 16 }
        // The end-of-central-directory record is the last 22 bytes plus a comment of ≤ 64 KiB.
        let searchStart = max(0, bytes.count - 22 - 65_535)
        guard let end = stride(from: bytes.count - 22, through: searchStart, by: -1).first(where: {
            $0 >= 0 && bytes[$0] == 0x50 && bytes[$0 + 1] == 0x4B && bytes[$0 + 2] == 0x05 && bytes[$0 + 3] == 0x06
        }) else { throw fail("no central directory (not a zip archive)") }
        let entries = try u16(end + 10)
        var offset = try u32(end + 16)
        var names: [String] = []
        for _ in 0..<entries {
            guard try u32(offset) == 0x0201_4B50 else { throw fail("damaged central directory") }
            let (flags, method) = (try u16(offset + 8), try u16(offset + 10))
            let (compressed, size) = (try u32(offset + 20), try u32(offset + 24))
            let (nameLength, extraLength, commentLength) = (try u16(offset + 28), try u16(offset + 30), try u16(offset + 32))
            let local = try u32(offset + 42)
            guard offset + 46 + nameLength <= bytes.count else { throw fail("truncated") }
            let name = String(decoding: bytes[(offset + 46)..<(offset + 46 + nameLength)], as: UTF8.self)
            names.append(name)
            offset += 46 + nameLength + extraLength + commentLength
            guard name == wanted else { continue }
            guard flags & 1 == 0 else { throw fail("'\(name)' is encrypted") }
            guard method == 0, compressed == size else {
                throw fail("'\(name)' is compressed (method \(method)); Keras stores it uncompressed — re-save the model with Keras")
            }
            guard size != 0xFFFF_FFFF else { throw fail("'\(name)' needs ZIP64, which is not supported") }
            let start = local + 30 + (try u16(local + 26)) + (try u16(local + 28))
            guard try u32(local) == 0x0403_4B50, start + size <= bytes.count else { throw fail("damaged entry '\(name)'") }
            return data.subdata(in: (data.startIndex + start)..<(data.startIndex + start + size))
        }
        throw fail("no '\(wanted)' member (found \(names.joined(separator: ", ")))")
    }
}
