import Foundation
import ZIPFoundation

/// A zip archive read through ZIPFoundation (stored and deflated members, ZIP64), with the
/// bounds that outside input needs before anything is allocated: how many entries are
/// listed, how large a member may be, and a member that inflates past its declared size or
/// fails its CRC is an error. `.keras` files and `torch.save` checkpoints are both zips.
struct ZipArchive {
    /// A local file header, the first bytes of every zip that a writer streams.
    static let signature: [UInt8] = [0x50, 0x4B, 0x03, 0x04]
    /// Far above what a checkpoint or Keras archive holds (one entry per storage or file).
    static let maxEntries = 100_000
    /// The largest member read into memory: VGG19's fully connected top is 0.5 GiB.
    static let maxMemberBytes: UInt64 = 8 << 30

    let file: String
    /// The archive's size on disk: no member's compressed bytes can exceed it.
    let fileBytes: UInt64
    private let archive: Archive
    /// Entries by path, in the central directory's order.
    let entries: [(path: String, entry: Entry)]

    init(url: URL) throws {
        let file = url.lastPathComponent
        try ZipOffsetGuard.check(url, maxEntries: Self.maxEntries)
        let archive: Archive
        do {
            archive = try Archive(url: url, accessMode: .read)
        } catch {
            throw WeightFileError(file: file, "zip: not a readable zip archive (\(error))")
        }
        var entries: [(String, Entry)] = []
        for entry in archive {
            guard entries.count < Self.maxEntries else {
                throw WeightFileError(file: file, "zip: more than \(Self.maxEntries) entries")
            }
            entries.append((entry.path, entry))
        }
        self.file = file
        fileBytes = UInt64((try? url.resourceValues(forKeys: [.fileSizeKey]).fileSize) ?? 0)
        self.archive = archive
        self.entries = entries.map { (path: $0.0, entry: $0.1) }
    }

    var paths: [String] { entries.map(\.path) }

    func size(of path: String) -> UInt64? { entries.first { $0.path == path }?.entry.uncompressedSize }

    /// A member's bytes, inflated if need be and checked against its size and CRC-32.
    func data(_ path: String) throws -> Data {
        func fail(_ message: String) -> WeightFileError { WeightFileError(file: file, "zip: \(message)") }
        guard let entry = entries.first(where: { $0.path == path })?.entry else {
            throw fail("no '\(path)' member (found \(paths.prefix(20).joined(separator: ", "))\(paths.count > 20 ? ", …" : ""))")
        }
        guard entry.type == .file else { throw fail("'\(path)' is not a file") }
        let size = entry.uncompressedSize
        guard size <= Self.maxMemberBytes else {
            throw fail("'\(path)' declares \(size) bytes, over the \(Self.maxMemberBytes)-byte limit")
        }
        // The declared size is only a claim until the bytes arrive (a 5 KB file declared 2.5 GB, found
        // by fuzzing), but the compressed size is bounded by the file: reserve no more than that. A
        // stored member is exactly its compressed size; a deflated one grows as it really inflates.
        guard entry.compressedSize <= fileBytes else {
            throw fail("'\(path)' declares \(entry.compressedSize) compressed bytes in a \(fileBytes)-byte archive")
        }
        var data = Data()
        data.reserveCapacity(Int(min(size, entry.compressedSize)))
        let checksum: CRC32
        do {
            checksum = try archive.extract(entry, bufferSize: 1 << 20) { chunk in
                guard UInt64(data.count + chunk.count) <= size else {
                    throw fail("'\(path)' inflates past its declared \(size) bytes")
                }
                data.append(chunk)
            }
        } catch let error as WeightFileError {
            throw error
        } catch {
            throw fail("cannot read '\(path)' (\(error))")
        }
        guard UInt64(data.count) == size else { throw fail("'\(path)' holds \(data.count) bytes, its header says \(size)") }
        guard checksum == entry.checksum else { throw fail("'\(path)' fails its CRC-32 check (damaged archive)") }
        return data
    }
}
