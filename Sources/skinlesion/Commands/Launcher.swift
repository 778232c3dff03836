import ArgumentParser
import Foundation

/// A command another process runs under (`tune --launcher "mpirun -np 2"`): its words, and
/// its program found as a shell would find it, checked before anything trains.
struct Launcher {
    let words: [String]
    let program: URL

    init(_ command: String) throws {
        words = command.split(separator: " ").map(String.init)
        guard let first = words.first else { throw ValidationError("--launcher is empty; give a command such as \"mpirun -np 2\"") }
        let candidates = first.contains("/") ? [first]
            : (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":").map { "\($0)/\(first)" }
        guard let found = candidates.first(where: FileManager.default.isExecutableFile(atPath:)) else {
            throw ValidationError("--launcher: \(first) is not an executable \(first.contains("/") ? "file" : "on PATH")")
        }
        program = URL(fileURLWithPath: found)
    }
}
