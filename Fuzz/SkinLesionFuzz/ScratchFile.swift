import Foundation

/// Parsers that take a file (dataset CSVs, manifests, safetensors, which are memory-mapped) get
/// the fuzzer's bytes written to a file of this process's own, in RAM (/dev/shm) where there is
/// one, so each harness calls the same entry point a user's file goes through.
enum ScratchFile {
    private static let directory: URL = {
        let base = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
        let url = URL(fileURLWithPath: base).appendingPathComponent("skinlesion-fuzz-\(getpid())")
        try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        atexit { try? FileManager.default.removeItem(at: ScratchFile.directory) }
        return url
    }()

    /// `bytes` as the file `name` in the scratch directory, replacing what the last input left.
    static func write(_ bytes: UnsafeRawBufferPointer, as name: String) -> URL {
        let url = directory.appendingPathComponent(name)
        try! Data(bytes).write(to: url)
        return url
    }
}
