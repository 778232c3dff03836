import Foundation
import XCTest
@testable import Inference
@testable import Models
@testable import NeuralNet

/// Runs `tools/resnet_reference.py` in the venv that `scripts/setup` creates, so the Swift
/// network is checked against code it shares nothing with (ONNX Runtime, float64 NumPy).
enum PythonReference {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let python = root.appendingPathComponent(".build/venv/bin/python")
    static let script = root.appendingPathComponent("tools/resnet_reference.py")

    static func requireVenv() throws {
        guard FileManager.default.isExecutableFile(atPath: python.path) else {
            throw XCTSkip("no Python venv with onnx/onnxruntime at \(python.path): run scripts/setup")
        }
    }

    /// pip keras with PyTorch's CPU wheel as its backend, which scripts/setup installs.
    static func requireKeras() throws {
        try requireVenv()
        let probe = Process()
        probe.executableURL = python
        probe.arguments = ["-c", "import keras, torch"]
        probe.environment = kerasEnvironment
        probe.standardError = FileHandle.nullDevice
        try probe.run()
        probe.waitUntilExit()
        guard probe.terminationStatus == 0 else { throw XCTSkip("pip keras and torch are not installed in the venv: run scripts/setup") }
    }

    static var kerasEnvironment: [String: String] {
        ProcessInfo.processInfo.environment.merging(["KERAS_BACKEND": "torch"]) { _, torch in torch }
    }

    static func run(_ arguments: [String], script: URL = script) throws {
        _ = try output(arguments, script: script)
    }

    /// Runs a tool and returns what it printed on stdout, which must be short (a line or
    /// two): stderr is drained first, so stdout must fit the pipe's buffer.
    static func output(_ arguments: [String], script: URL) throws -> String {
        let process = Process()
        process.executableURL = python
        process.environment = kerasEnvironment
        process.arguments = [script.path] + arguments
        let errors = Pipe(), output = Pipe()
        process.standardError = errors
        process.standardOutput = output
        try process.run()
        let message = errors.fileHandleForReading.readDataToEndOfFile()
        let printed = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw NeuralNetError.invalidArgument("reference failed: \(String(decoding: message, as: UTF8.self))")
        }
        return String(decoding: printed, as: UTF8.self)
    }

    /// Skips unless the venv has these Python modules (torch, keras, …).
    static func requireModules(_ modules: [String]) throws {
        try requireVenv()
        let process = Process()
        process.executableURL = python
        process.arguments = ["-c", "import " + modules.joined(separator: ", ")]
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw XCTSkip("the venv at \(python.path) lacks \(modules.joined(separator: ", ")): run scripts/setup")
        }
    }

    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("skinlesion-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    static func writeFloats(_ values: [Float], to url: URL) throws {
        try values.withUnsafeBufferPointer { Data(buffer: $0) }.write(to: url)
    }

    static func readFloats(_ url: URL) throws -> [Float] {
        let data = try Data(contentsOf: url)
        return data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
    }

    static func writeWeights(_ model: Classifier, to url: URL) throws {
        var writer = SafeTensorsWriter()
        try model.save(into: &writer)
        try writer.write(to: url)
    }
}

/// Moves every BatchNorm away from the identity (γ = 1, β = 0, μ = 0, σ² = 1 after
/// initialisation), so parity tests exercise the statistics and their folding.
func randomizeBatchNorms(_ model: any Layer, seed: UInt64) throws {
    var rng = SeededGenerator(seed: seed)
    for (name, p) in model.namedParameters where p.shape.count == 1 {
        let uniform = { (lo: Float, hi: Float) in (0..<p.count).map { _ in lo + (hi - lo) * rng.nextUnit() } }
        switch name.components(separatedBy: ".").last! {
        case "running_mean": try p.assign(uniform(-0.2, 0.2))
        case "running_var": try p.assign(uniform(0.5, 1.5))
        case "weight": try p.assign(uniform(0.5, 1.2))
        case "bias" where !name.hasPrefix("fc"): try p.assign(uniform(-0.1, 0.1))
        default: break
        }
    }
}
