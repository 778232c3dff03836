import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes a file so that readers see either the old file or the complete new one: the bytes
/// go to a temporary file in the target's directory, which is flushed, renamed over the
/// target, and the directory flushed so the rename itself survives a crash. Every writer of
/// model files (safetensors, ONNX) goes through here.
public enum AtomicFile {
    /// Where `AtomicFile.write` sends bytes: the temporary file, in order.
    public struct Sink {
        fileprivate let descriptor: Int32
        fileprivate let fail: (String) -> Error

        /// Writes every byte, retrying short writes and interrupted calls.
        public func write(_ bytes: UnsafeRawBufferPointer) throws {
            var remaining = bytes
            while !remaining.isEmpty {
                let written = systemWrite(descriptor, remaining.baseAddress, remaining.count)
                if written < 0 {
                    if errno == EINTR { continue }
                    throw fail("write")
                }
                remaining = UnsafeRawBufferPointer(rebasing: remaining[written...])
            }
        }

        public func write(_ bytes: [UInt8]) throws { try bytes.withUnsafeBytes { try write($0) } }
        public func write(_ data: Data) throws { try data.withUnsafeBytes { try write($0) } }
    }

    /// Calls `body` with a sink into a temporary file, then moves it over `url`. On any
    /// failure the temporary file is removed and `url` is untouched. `error` turns a failed
    /// step (with `strerror`'s words appended) into the caller's own error type.
    public static func write(to url: URL, error makeError: @escaping (_ message: String) -> Error,
                             _ body: (Sink) throws -> Void) throws {
        let directory = url.deletingLastPathComponent()
        let temporary = directory.appendingPathComponent(".\(url.lastPathComponent).\(UUID().uuidString).tmp")
        let fail = { (what: String) -> Error in makeError("cannot \(what): \(String(cString: strerror(errno)))") }

        let descriptor = temporary.withUnsafeFileSystemRepresentation { open($0!, O_WRONLY | O_CREAT | O_EXCL, 0o644) }
        guard descriptor >= 0 else { throw fail("create temporary file \(temporary.lastPathComponent)") }
        do {
            defer { close(descriptor) }
            try body(Sink(descriptor: descriptor, fail: fail))
            guard fsync(descriptor) == 0 else { throw fail("flush") }
            let moved = temporary.withUnsafeFileSystemRepresentation { from in
                url.withUnsafeFileSystemRepresentation { to in rename(from!, to!) }
            }
            guard moved == 0 else { throw fail("rename temporary file into place") }
        } catch {
            temporary.withUnsafeFileSystemRepresentation { _ = unlink($0!) }
            throw error
        }
        // The rename is durable once the directory entry is on disk.
        let directoryDescriptor = directory.withUnsafeFileSystemRepresentation { open($0!, O_RDONLY | O_DIRECTORY) }
        guard directoryDescriptor >= 0 else { throw fail("open directory \(directory.path) to flush it") }
        defer { close(directoryDescriptor) }
        guard fsync(directoryDescriptor) == 0 else { throw fail("flush directory \(directory.path)") }
    }
}

/// The C library's `write`, reachable from inside `Sink`, whose own `write` methods hide it.
private func systemWrite(_ descriptor: Int32, _ bytes: UnsafeRawPointer?, _ count: Int) -> Int {
    write(descriptor, bytes, count)
}
