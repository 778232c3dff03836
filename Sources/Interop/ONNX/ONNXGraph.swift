import Foundation
import NeuralNet

/// A tensor in the graph being built: its name and its shape without the batch dimension,
/// which stays symbolic (`batch`) so the exported model takes any batch size.
struct ONNXValue {
    let name: String
    let shape: [Int]
}

/// A layer that can write its inference forward pass as ONNX nodes: each layer type says
/// how it exports, next to the others in this folder, and the graph asks it.
protocol ONNXExportable {
    /// Adds the nodes computing this layer's inference output from `x`, and returns it.
    func exportONNX(_ x: ONNXValue, into graph: ONNXGraph) throws -> ONNXValue
}

/// The graph under construction: nodes in order, initializers (weights and constants),
/// unique names, and where in the layer tree the exporter is, for node names and errors.
final class ONNXGraph {
    let opset: Int
    private(set) var nodes: [ProtobufMessage] = []
    private(set) var initializers: [ProtobufMessage] = []
    private var names: Set<String> = []
    /// Module names from the root to the layer being exported (`layer4`, `2`, `conv1`).
    private var scope: [String] = []
    /// The patient-metadata input of a fusion model, which its fusion head reads.
    var metadata: ONNXValue?

    init(opset: Int) {
        self.opset = opset
    }

    /// The dotted path of the layer being exported, as its parameters are named.
    var path: String { scope.isEmpty ? "model" : scope.joined(separator: ".") }

    /// Exports `layer`, a module called `name` inside the current one (empty: no name of its
    /// own), or refuses naming it when its type has no exact ONNX form.
    func add(_ layer: any Layer, named name: String = "", _ x: ONNXValue) throws -> ONNXValue {
        if !name.isEmpty { scope.append(name) }
        defer { if !name.isEmpty { scope.removeLast() } }
        guard let exportable = layer as? any ONNXExportable else {
            throw ONNXExportError(layer: path, "\(type(of: layer)) has no ONNX export")
        }
        do {
            return try exportable.exportONNX(x, into: self)
        } catch let error as ONNXExportError {
            throw error
        } catch {
            throw ONNXExportError(layer: path, "\(error)")
        }
    }

    /// Runs `body` inside a named sub-scope (a block's own parts: `conv1`, `skip`).
    func scoped<T>(_ name: String, _ body: () throws -> T) rethrows -> T {
        scope.append(name)
        defer { scope.removeLast() }
        return try body()
    }

    /// Appends an `op` node with one output of per-sample `shape`.
    @discardableResult
    func node(_ op: String, _ inputs: [String], _ attributes: [(name: String, value: ONNXProto.AttributeValue)] = [],
              shape: [Int]) -> ONNXValue {
        let output = unique(path + "/" + op)
        nodes.append(ONNXProto.node(op, inputs: inputs, outputs: [output], name: output, attributes: attributes))
        return ONNXValue(name: output, shape: shape)
    }

    /// Appends a node whose output has a name the outside sees (`logits`, `probabilities`).
    func output(_ op: String, _ inputs: [String], _ attributes: [(name: String, value: ONNXProto.AttributeValue)] = [],
                named name: String, shape: [Int]) throws -> ONNXValue {
        guard names.insert(name).inserted else { throw ONNXExportError(layer: path, "the name '\(name)' is taken") }
        nodes.append(ONNXProto.node(op, inputs: inputs, outputs: [name], name: name, attributes: attributes))
        return ONNXValue(name: name, shape: shape)
    }

    /// Reserves a graph input's name.
    func input(_ name: String, shape: [Int]) throws -> ONNXValue {
        guard names.insert(name).inserted else { throw ONNXExportError(layer: path, "the name '\(name)' is taken") }
        return ONNXValue(name: name, shape: shape)
    }

    /// A float initializer (a weight or a constant), named after the current layer.
    func constant(_ name: String, shape: [Int], floats: [Float]) -> String {
        precondition(shape.reduce(1, *) == floats.count, "constant \(name): shape \(shape) for \(floats.count) values")
        let unique = unique(path + "." + name)
        initializers.append(ONNXProto.tensor(unique, shape: shape, floats: floats))
        return unique
    }

    /// An int64 initializer (pads, indices).
    func constant(_ name: String, shape: [Int], int64s: [Int64]) -> String {
        precondition(shape.reduce(1, *) == int64s.count, "constant \(name): shape \(shape) for \(int64s.count) values")
        let unique = unique(path + "." + name)
        initializers.append(ONNXProto.tensor(unique, shape: shape, int64s: int64s))
        return unique
    }

    private func unique(_ base: String) -> String {
        var name = base, counter = 1
        while !names.insert(name).inserted {
            counter += 1
            name = "\(base)_\(counter)"
        }
        return name
    }
}

/// A model, or a layer in it, that cannot be written as ONNX computing exactly what
/// SkinLesion computes; it names the layer by its path in the model (`layer4.2.conv3`).
public struct ONNXExportError: Error, CustomStringConvertible {
    public let layer: String
    public let message: String

    init(layer: String, _ message: String) {
        self.layer = layer
        self.message = message
    }

    public var description: String { "cannot export \(layer) to ONNX: \(message)" }
}
