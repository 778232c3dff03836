import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Reads image files with the size limit checked against `fstat` before anything is allocated,
/// and with POSIX errors turned into messages that name the file.
enum ImageFile {
    /// The first `count` bytes (or all, when `count` is nil) and the file's total size.
    static func load(_ url: URL, limits: DecodeLimits, upTo count: Int? = nil) throws -> (bytes: [UInt8], fileSize: Int) {
        let name = url.path
        let fd = open(name, O_RDONLY | O_CLOEXEC | O_NONBLOCK)  // a FIFO must not block; it fails the S_IFREG check
        guard fd >= 0 else { throw failure(name, "cannot open") }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw failure(name, "cannot stat") }
        guard info.st_mode & S_IFMT == S_IFREG else {
            throw ImageError(file: name, message: "not a regular file (expected a JPEG or PNG image)")
        }
        let fileSize = Int(info.st_size)
        try limits.checkFileSize(fileSize, file: name)
        let wanted = min(fileSize, count ?? fileSize)
        var readError: Int32 = 0
        let bytes = [UInt8](unsafeUninitializedCapacity: wanted) { buffer, initialized in
            while initialized < wanted {
                let n = read(fd, buffer.baseAddress! + initialized, wanted - initialized)
                if n > 0 {
                    initialized += n
                } else if n == 0 {
                    break  // the file shrank since fstat; decode what is there
                } else if errno != EINTR {
                    readError = errno
                    break
                }
            }
        }
        guard readError == 0 else {
            errno = readError
            throw failure(name, "cannot read")
        }
        return (bytes, fileSize)
    }

    private static func failure(_ name: String, _ action: String) -> ImageError {
        ImageError(file: name, message: "\(action): \(String(cString: strerror(errno)))")
    }
}
