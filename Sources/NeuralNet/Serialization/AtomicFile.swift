import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Every file SkinLesion writes (checkpoints, models, cards, reports, logs, split manifests,
/// imports) goes through here, so a crash, a kill or a full disk leaves either the previous
/// file or the complete new one, never a torn one:
///
/// 1. a temporary file in the target's directory (so the rename stays on one file system),
/// 2. every byte written, then `fsync` (the data is on disk before it gets the name),
/// 3. `rename` over the target (atomic: readers see old or new),
/// 4. `fsync` of the directory (the rename itself survives a power cut).
///
/// Any failure, ENOSPC included, removes the temporary file and throws an error naming the
/// target's path; the previous file is untouched.
public enum AtomicFile {
    /// Streams bytes into the temporary file.
    public struct Writer {
        fileprivate let descriptor: Int32
        fileprivate let path: String

        /// Writes every byte, retrying short writes and interrupted calls.
        public func write(_ bytes: UnsafeRawBufferPointer) throws {
            var remaining = bytes
            while !remaining.isEmpty {
                let written = systemWrite(descriptor, remaining.baseAddress, remaining.count)
                if written < 0 {
                    if errno == EINTR { continue }
                    throw AtomicWriteError(path: path, step: "write the temporary file")
                }
                remaining = UnsafeRawBufferPointer(rebasing: remaining[written...])
            }
        }

        public func write(_ data: Data) throws { try data.withUnsafeBytes { try write($0) } }
        public func write(_ bytes: [UInt8]) throws { try bytes.withUnsafeBytes { try write($0) } }
    }

    /// Writes what `body` streams to `url`, atomically and durably.
    public static func write(to url: URL, _ body: (Writer) throws -> Void) throws {
        let path = url.path
        let directory = url.deletingLastPathComponent().path
        let temporary = directory + "/.\(url.lastPathComponent).\(UUID().uuidString).tmp"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw AtomicWriteError(path: path, step: "create the temporary file") }
        do {
            do {
                defer { close(descriptor) }
                try body(Writer(descriptor: descriptor, path: path))
                guard fsync(descriptor) == 0 else { throw AtomicWriteError(path: path, step: "flush the temporary file to disk") }
            }
            guard rename(temporary, path) == 0 else { throw AtomicWriteError(path: path, step: "rename the temporary file into place") }
        } catch {
            unlink(temporary)
            throw error
        }
        try syncDirectory(directory, for: path)
    }

    public static func write(_ data: Data, to url: URL) throws {
        try write(to: url) { try $0.write(data) }
    }

    /// Deletes the temporary files that writes into `directory` left when the process was
    /// killed mid-write. Only for directories that nothing else is writing into (a run
    /// directory as its run resumes).
    public static func removeStaleTemporaries(in directory: URL) {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        for name in names where isTemporary(name) { unlink(directory.appendingPathComponent(name).path) }
    }

    /// `.NAME.UUID.tmp`, as `write` names them.
    public static func isTemporary(_ name: String) -> Bool {
        name.hasPrefix(".") && name.hasSuffix(".tmp") && name.split(separator: ".").count >= 3
    }

    /// Flushes the directory entry of a rename. File systems that cannot sync a directory say
    /// EINVAL; there the rename is as durable as the file system makes it.
    private static func syncDirectory(_ directory: String, for path: String) throws {
        let descriptor = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else { throw AtomicWriteError(path: path, step: "open its directory to flush the rename") }
        defer { close(descriptor) }
        guard fsync(descriptor) == 0 || errno == EINVAL else {
            throw AtomicWriteError(path: path, step: "flush its directory after the rename")
        }
    }
}

/// A write that did not happen, with the target's path, the step that failed and the
/// system's reason (e.g. "No space left on device").
public struct AtomicWriteError: Error, CustomStringConvertible, Equatable {
    public let path: String
    public let step: String
    public let reason: String

    /// Reads `errno` for the reason.
    init(path: String, step: String) {
        (self.path, self.step, reason) = (path, step, String(cString: strerror(errno)))
    }

    public var description: String {
        "\(path): cannot \(step): \(reason); " + (step.contains("directory after")
            ? "the new file is in place but may not survive a power cut"
            : "the previous file, if any, is unchanged")
    }
}

/// write(2), out of reach of `Writer.write`'s name.
private func systemWrite(_ descriptor: Int32, _ bytes: UnsafeRawPointer?, _ count: Int) -> Int {
    write(descriptor, bytes, count)
}
