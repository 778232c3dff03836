import Foundation
import XCTest

/// The `skinlesion` executable that `swift build --build-tests` (and `swift test`) put next to
/// the test bundle, run as a user runs it: the exit status and both streams are what a user sees.
public enum CommandLineTool {
    public struct Result {
        public let status: Int32
        /// True when the process ended on a signal (a crash, or our own SIGKILL).
        public let signaled: Bool
        public let stdout: String
        public let stderr: String
    }

    struct Missing: Error, CustomStringConvertible {
        let message: String
        var description: String { message }
    }

    /// `.build/<triple>/<configuration>/skinlesion`: the products folder holds the test bundle too.
    public static func executable() throws -> URL {
        let products = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
            .deletingLastPathComponent()
        var url = products.appendingPathComponent("skinlesion")
        if !FileManager.default.isExecutableFile(atPath: url.path) {
            url = products.deletingLastPathComponent().appendingPathComponent("skinlesion")
        }
        guard FileManager.default.isExecutableFile(atPath: url.path) else {
            // `swift test` and `swift build --build-tests` build it; its absence is a broken build, not a skip.
            throw Missing(message: "the skinlesion executable is not built next to the tests (\(products.path))")
        }
        return url
    }

    /// Starts `skinlesion arguments…` with its output going to files under `logs` (so a long run
    /// never blocks on a full pipe); the caller waits or kills. `wrapper` runs it under another
    /// program (`["/usr/bin/strace", "-f", …]`); `input` is its standard input.
    public static func start(_ arguments: [String], logs: URL, environment: [String: String] = [:],
                             wrapper: [String] = [], input: URL? = nil) throws -> Process {
        let process = Process()
        let tool = try executable()
        process.executableURL = wrapper.first.map(URL.init(fileURLWithPath:)) ?? tool
        process.arguments = wrapper.isEmpty ? arguments : Array(wrapper.dropFirst()) + [tool.path] + arguments
        process.environment = ProcessInfo.processInfo.environment.merging(["OMP_NUM_THREADS": "1"]) { $1 }
            .merging(environment) { $1 }
        FileManager.default.createFile(atPath: logs.appendingPathExtension("out").path, contents: nil)
        FileManager.default.createFile(atPath: logs.appendingPathExtension("err").path, contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: logs.appendingPathExtension("out"))
        process.standardError = try FileHandle(forWritingTo: logs.appendingPathExtension("err"))
        if let input { process.standardInput = try FileHandle(forReadingFrom: input) }
        try process.run()
        return process
    }

    /// What a finished process printed and how it ended.
    public static func result(of process: Process, logs: URL) -> Result {
        process.waitUntilExit()
        func read(_ suffix: String) -> String {
            (try? String(contentsOf: logs.appendingPathExtension(suffix), encoding: .utf8)) ?? ""
        }
        return Result(status: process.terminationStatus, signaled: process.terminationReason == .uncaughtSignal,
                      stdout: read("out"), stderr: read("err"))
    }

    /// Runs `skinlesion arguments…` to the end.
    public static func run(_ arguments: [String], logs: URL, environment: [String: String] = [:],
                           wrapper: [String] = [], input: URL? = nil) throws -> Result {
        result(of: try start(arguments, logs: logs, environment: environment, wrapper: wrapper, input: input), logs: logs)
    }
}

extension XCTestCase {
    /// A fresh directory under the system's temporary folder, removed when the test ends.
    public func temporaryDirectory(_ prefix: String) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }
}
