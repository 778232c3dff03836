import Foundation
import XCTest

/// A tmpfs of a few megabytes that a test mounts (tests run as root here and in CI), to see
/// what every write does when the disk is full; unmounted when the test ends. Where mounting
/// is not permitted the test is skipped, saying so.
public final class SmallDisk {
    public let url: URL
    private var filler: URL { url.appendingPathComponent("filler") }

    public init(megabytes: Int, for test: XCTestCase) throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("skinlesion-disk-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        let mount = try SystemTool.run("/bin/mount", ["-t", "tmpfs", "-o", "size=\(megabytes)m", "tmpfs", url.path])
        guard mount.status == 0 else {
            try? FileManager.default.removeItem(at: url)
            throw XCTSkip("cannot mount a \(megabytes) MiB tmpfs for the disk-full test (needs root): \(mount.output)")
        }
        let url = url
        test.addTeardownBlock {
            _ = try? SystemTool.run("/bin/umount", ["-l", url.path])
            try? FileManager.default.removeItem(at: url)
        }
    }

    /// Fills every free byte with one file: the next write anywhere on the disk gets ENOSPC.
    public func fill() throws {
        FileManager.default.createFile(atPath: filler.path, contents: nil)
        let handle = try FileHandle(forWritingTo: filler)
        defer { try? handle.close() }
        for chunk in [1 << 20, 4096, 1] {
            let bytes = Data(repeating: 0xA5, count: chunk)
            while (try? handle.write(contentsOf: bytes)) != nil {}
        }
    }

    /// Frees what `fill` took.
    public func free() throws { try FileManager.default.removeItem(at: filler) }

    /// Every file on the disk but the filler, by path relative to the disk, with its bytes.
    public func contents() throws -> [String: Data] {
        var files: [String: Data] = [:]
        let base = url.resolvingSymlinksInPath().path + "/"
        for case let file as URL in FileManager.default.enumerator(at: url, includingPropertiesForKeys: nil) ?? .init()
        where file.lastPathComponent != "filler" {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: file.path, isDirectory: &isDirectory), !isDirectory.boolValue else { continue }
            files[String(file.resolvingSymlinksInPath().path.dropFirst(base.count))] = try Data(contentsOf: file)
        }
        return files
    }
}
