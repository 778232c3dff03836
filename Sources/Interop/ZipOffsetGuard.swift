import Foundation

/// ZIPFoundation 0.9.20 turns the 64-bit offsets and sizes it reads from a ZIP64 archive into
/// `off_t` and sums them unchecked, so a value of 2^63 or more traps: a 6.6 KB checkpoint whose
/// ZIP64 end-of-central-directory record put the central directory at such an offset crashed
/// `import` (found by the `zip-archive` fuzz target). Until a release checks them, this reads
/// the same records the way ZIPFoundation finds them and refuses any 64-bit value of 2^62 or
/// more: no real archive is 4 EiB, and below that no sum of an offset, a size and a header can
/// reach 2^63.
enum ZipOffsetGuard {
    static let limit: UInt64 = 1 << 62

    static func check(_ url: URL, maxEntries: Int) throws {
        guard let handle = try? FileHandle(forReadingFrom: url) else { return }  // ZIPFoundation reports it
        defer { try? handle.close() }
        let length = (try? handle.seekToEnd()) ?? 0
        func read(_ count: Int, at offset: UInt64) -> Data? {
            guard offset < limit, offset + UInt64(count) <= length, (try? handle.seek(toOffset: offset)) != nil,
                  let data = try? handle.read(upToCount: count), data.count == count else { return nil }
            return data
        }
        func fail(_ what: String, _ value: UInt64) -> WeightFileError {
            WeightFileError(file: url.lastPathComponent, "zip: \(what) \(value) is beyond any archive (the limit is 2^62)")
        }
        // The end-of-central-directory record: the last signature, as ZIPFoundation scans for it.
        guard length >= 22, let tail = read(Int(min(length, 65_557)), at: length - min(length, 65_557)) else { return }
        guard let end = (0...(tail.count - 22)).reversed().first(where: { tail.u32($0) == 0x0605_4B50 }) else { return }
        let eocd = length - UInt64(tail.count) + UInt64(end)
        var entries = UInt64(tail.u16(end + 10)), directory = UInt64(tail.u32(end + 16))
        // The ZIP64 record that ZIPFoundation reads right before its locator.
        if eocd > 20 + 56, let locator = read(20, at: eocd - 20), locator.u32(0) == 0x0706_4B50,
           let record = read(56, at: eocd - 76), record.u32(0) == 0x0606_4B50, record.u16(14) >= 45 {
            for (field, at) in [("ZIP64 entry count", 32), ("ZIP64 central directory size", 40), ("ZIP64 central directory offset", 48)] {
                guard record.u64(at) < limit else { throw fail(field, record.u64(at)) }
            }
            (entries, directory) = (record.u64(32), record.u64(48))
        }
        // Each central directory entry's ZIP64 fields, and its local header's.
        for _ in 0..<min(entries, UInt64(maxEntries) + 1) {
            guard let header = read(46, at: directory), header.u32(0) == 0x0201_4B50 else { return }
            let (name, extra, comment) = (Int(header.u16(28)), Int(header.u16(30)), Int(header.u16(32)))
            var local = UInt64(header.u32(42))
            if let fields = read(extra, at: directory + 46 + UInt64(name)) {
                let values = zip64Values(in: fields)
                for value in values {
                    guard value < limit else { throw fail("a central directory entry's ZIP64 field", value) }
                }
                if header.u32(42) == 0xFFFF_FFFF, let last = values.last { local = last }
            }
            if let localHeader = read(30, at: local), localHeader.u32(0) == 0x0403_4B50,
               let fields = read(Int(localHeader.u16(28)), at: local + 30 + UInt64(localHeader.u16(26))) {
                for value in zip64Values(in: fields) where value >= limit {
                    throw fail("a local header's ZIP64 field", value)
                }
            }
            directory += 46 + UInt64(name + extra + comment)
        }
    }

    /// The 8-byte values of the ZIP64 extended information blocks (header ID 1) in an extra field.
    private static func zip64Values(in extra: Data) -> [UInt64] {
        var values: [UInt64] = [], at = 0
        while at + 4 <= extra.count {
            let (id, size) = (extra.u16(at), Int(extra.u16(at + 2)))
            let end = min(at + 4 + size, extra.count)
            if id == 1 { values += stride(from: at + 4, to: end - 7, by: 8).map { extra.u64($0) } }
            at = end
        }
        return values
    }
}

private extension Data {
    func u16(_ at: Int) -> UInt16 { UInt16(self[startIndex + at]) | UInt16(self[startIndex + at + 1]) << 8 }
    func u32(_ at: Int) -> UInt32 { UInt32(u16(at)) | UInt32(u16(at + 2)) << 16 }
    func u64(_ at: Int) -> UInt64 { UInt64(u32(at)) | UInt64(u32(at + 4)) << 32 }
}
