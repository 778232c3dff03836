import Foundation
import XCTest

/// Runs a script from tools/ in the venv `scripts/setup` creates.
enum PythonTool {
    static let python = ServerHarness.repository.appendingPathComponent(".build/venv/bin/python")

    /// Skips (with what to run) when the venv lacks `modules`.
    static func require(_ modules: [String]) throws {
        guard FileManager.default.isExecutableFile(atPath: python.path),
              (try? run(["-c", "import " + modules.joined(separator: ", ")], script: nil).status) == 0 else {
            throw XCTSkip("the venv at \(python.path) lacks \(modules.joined(separator: ", ")): run scripts/setup")
        }
    }

    static func run(_ arguments: [String], script: String? = nil) throws -> (status: Int32, output: String, errors: String) {
        let process = Process()
        process.executableURL = python
        process.arguments = (script.map { [ServerHarness.repository.appendingPathComponent("tools/\($0)").path] } ?? []) + arguments
        let output = Pipe(), errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let errorData = errors.fileHandleForReading.readDataToEndOfFile()
        let outputData = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: outputData, as: UTF8.self), String(decoding: errorData, as: UTF8.self))
    }
}
