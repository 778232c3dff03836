import Foundation
import XCTest
@testable import Interop
@testable import Models
@testable import NeuralNet

/// Runs `tools/onnx_export_check.py` on an exported file: ONNX's checker with full shape
/// inference, then ONNX Runtime (default optimizations, as users run it) on each case.
enum ONNXRuntimeCheck {
    static let script = PythonReference.root.appendingPathComponent("tools/onnx_export_check.py")

    /// What ONNX says the file holds.
    struct Report: Decodable {
        let ir_version: Int
        let opsets: [String: Int]
        let inputs: [String: [Dimension]]
        let outputs: [String: [Dimension]]
        let ops: [String: Int]
        let metadata: [String: String]
    }

    /// A dimension as the report spells it: a number, or a symbol's name.
    enum Dimension: Decodable, Equatable {
        case value(Int)
        case symbol(String)

        init(from decoder: Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let value = try? container.decode(Int.self) { self = .value(value) } else { self = .symbol(try container.decode(String.self)) }
        }
    }

    /// One run: named inputs with their values and full shapes.
    struct Case {
        let tag: String
        let inputs: [String: (values: [Float], shape: [Int])]
    }

    /// The report and, for each case tag, every output by name.
    static func run(_ model: URL, _ cases: [Case], in directory: URL) throws -> (report: Report, outputs: [String: [String: [Float]]]) {
        try PythonReference.requireVenv()
        var specification: [[String: Any]] = []
        for c in cases {
            var inputs: [String: Any] = [:]
            for (name, input) in c.inputs {
                let path = directory.appendingPathComponent("\(c.tag).\(name).in.bin")
                try PythonReference.writeFloats(input.values, to: path)
                inputs[name] = ["path": path.path, "shape": input.shape]
            }
            specification.append(["tag": c.tag, "inputs": inputs])
        }
        let casesFile = directory.appendingPathComponent("cases.json")
        try JSONSerialization.data(withJSONObject: ["cases": specification]).write(to: casesFile)
        try PythonReference.run(["--model", model.path, "--cases", casesFile.path, "--output-dir", directory.path], script: script)
        let report = try JSONDecoder().decode(Report.self, from: Data(contentsOf: directory.appendingPathComponent("report.json")))
        var outputs: [String: [String: [Float]]] = [:]
        for c in cases {
            for name in report.outputs.keys {
                outputs[c.tag, default: [:]][name] = try PythonReference.readFloats(directory.appendingPathComponent("\(c.tag).\(name).bin"))
            }
        }
        return (report, outputs)
    }
}

/// Softmax of each row of `logits / temperature` in double precision: the reference for the
/// exported `probabilities`.
func softmaxRows(_ logits: [Float], classes: Int, temperature: Float) -> [Float] {
    stride(from: 0, to: logits.count, by: classes).flatMap { start -> [Float] in
        let row = logits[start..<(start + classes)].map { Double($0) / Double(temperature) }
        let top = row.max()!
        let exponentials = row.map { Foundation.exp($0 - top) }
        let sum = exponentials.reduce(0, +)
        return exponentials.map { Float($0 / sum) }
    }
}
