import Foundation

/// Decoded, resized images kept on disk as raw uint8 squares in one memory-mapped file, so
/// epochs after the first skip JPEG decoding entirely.
///
/// Layout: a 64-byte header (magic, side, count, fingerprint of the file list), one "filled"
/// byte per image, then `count` squares of side×side×3 bytes. The file is sparse until
/// filled. A header that does not match this sample list and side makes the cache start
/// over, so a changed dataset can never be served stale pixels.
public final class ImageCache: @unchecked Sendable {
    static let magic: [UInt8] = Array("SLCACHE1".utf8)
    static let headerBytes = 64

    public let url: URL
    public let side: Int
    public let count: Int
    private let base: UnsafeMutableRawPointer
    private let length: Int

    private var imageBytes: Int { side * side * 3 }
    private var flagsOffset: Int { Self.headerBytes }
    private var pixelsOffset: Int { (Self.headerBytes + count + 63) / 64 * 64 }

    /// Opens or creates the cache for `samples` at `side`×`side`.
    public init(url: URL, samples: [URL], side: Int) throws {
        guard side > 0, !samples.isEmpty else {
            throw ImageError(file: url.lastPathComponent, message: "an image cache needs a positive side and at least one image")
        }
        self.url = url
        self.side = side
        self.count = samples.count
        let fingerprint = Self.fingerprint(samples, side: side)
        let headerBytes = Self.headerBytes
        let total = (headerBytes + samples.count + 63) / 64 * 64 + samples.count * side * side * 3
        length = total

        if !Self.matches(url: url, side: side, count: samples.count, fingerprint: fingerprint, length: total) {
            try Self.create(url: url, side: side, count: samples.count, fingerprint: fingerprint, length: total)
        }
        let fd = open(url.path, O_RDWR)
        guard fd >= 0 else { throw ImageError(file: url.path, message: "cannot open image cache: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        guard let mapped = mmap(nil, total, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0), mapped != MAP_FAILED else {
            throw ImageError(file: url.path, message: "cannot map image cache: \(String(cString: strerror(errno)))")
        }
        base = mapped
    }

    deinit { munmap(base, length) }

    /// Number of images already cached.
    public var filled: Int { (0..<count).reduce(0) { $0 + (base.load(fromByteOffset: flagsOffset + $1, as: UInt8.self) == 1 ? 1 : 0) } }

    public func image(at index: Int) -> RGBImage? {
        guard base.load(fromByteOffset: flagsOffset + index, as: UInt8.self) == 1 else { return nil }
        let start = base.advanced(by: pixelsOffset + index * imageBytes).assumingMemoryBound(to: UInt8.self)
        return RGBImage(width: side, height: side, pixels: Array(UnsafeBufferPointer(start: start, count: imageBytes)))
    }

    /// Stores a `side`×`side` image; the pixels are written before the flag that marks them valid.
    public func store(_ image: RGBImage, at index: Int) {
        precondition(image.width == side && image.height == side, "cache holds \(side)×\(side) images")
        image.pixels.withUnsafeBytes { base.advanced(by: pixelsOffset + index * imageBytes).copyMemory(from: $0.baseAddress!, byteCount: imageBytes) }
        base.storeBytes(of: 1, toByteOffset: flagsOffset + index, as: UInt8.self)
    }

    /// Paths, sizes and modification times of the files, and the side: any change invalidates.
    static func fingerprint(_ samples: [URL], side: Int) -> UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        func mix(_ bytes: some Sequence<UInt8>) { for b in bytes { hash = (hash ^ UInt64(b)) &* 0x100_0000_01B3 } }
        mix(String(side).utf8)
        for url in samples {
            mix(url.path.utf8)
            let attributes = try? FileManager.default.attributesOfItem(atPath: url.path)
            mix(String((attributes?[.size] as? Int) ?? -1).utf8)
            mix(String((attributes?[.modificationDate] as? Date)?.timeIntervalSince1970 ?? -1).utf8)
        }
        return hash
    }

    private static func header(side: Int, count: Int, fingerprint: UInt64) -> [UInt8] {
        var bytes = magic
        for value in [UInt64(side), UInt64(count), fingerprint] { withUnsafeBytes(of: value.littleEndian) { bytes += $0 } }
        return bytes + [UInt8](repeating: 0, count: headerBytes - bytes.count)
    }

    private static func matches(url: URL, side: Int, count: Int, fingerprint: UInt64, length: Int) -> Bool {
        guard let handle = try? FileHandle(forReadingFrom: url) else { return false }
        defer { try? handle.close() }
        let size = (try? handle.seekToEnd()) ?? 0
        try? handle.seek(toOffset: 0)
        let existing = (try? handle.read(upToCount: headerBytes)) ?? Data()
        return size == UInt64(length) && Array(existing) == header(side: side, count: count, fingerprint: fingerprint)
    }

    /// A new sparse file, made under a temporary name and renamed into place.
    private static func create(url: URL, side: Int, count: Int, fingerprint: UInt64, length: Int) throws {
        let temporary = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).\(UUID().uuidString)")
        guard FileManager.default.createFile(atPath: temporary.path, contents: Data(header(side: side, count: count, fingerprint: fingerprint))) else {
            throw ImageError(file: url.path, message: "cannot create image cache in \(url.deletingLastPathComponent().path)")
        }
        guard truncate(temporary.path, off_t(length)) == 0, rename(temporary.path, url.path) == 0 else {
            let reason = String(cString: strerror(errno))
            try? FileManager.default.removeItem(at: temporary)
            throw ImageError(file: url.path, message: "cannot size image cache to \(length) bytes: \(reason)")
        }
    }
}
