import Foundation

/// The layers of a saved Keras model's configuration that lie between the backbone's output
/// and the model's output, in the order they compute.
///
/// The weights say nothing about activations, pooling or epsilons; the configuration does.
/// It is walked backwards from the model's output, one input at a time, until the
/// architecture's feature layer (`relu` for DenseNet121), so whatever the user put after
/// the backbone is seen, weights or not. Layouts (Keras 3's checked against `.keras` and
/// legacy `.h5` files saved by pip keras 3.15, which both use Keras 3's node layout; Keras
/// 2's from its documented format, exercised by h5py-written test files):
/// - root `{"class_name": "Functional" | "Model" | "Sequential", "config": {...}}`; early
///   releases of Keras 2 wrote a Sequential's `config` as the bare list of layers.
/// - Functional: `config.layers` (each with `name`, `class_name`, `config`,
///   `inbound_nodes`) and `config.output_layers`, `[name, node, tensor]` (Keras 3, one
///   output) or a list of those (Keras 2).
/// - `inbound_nodes`, one per call: Keras 2 `[[name, node, tensor, kwargs], …]`, Keras 3
///   `{"args": [...], "kwargs": {...}}` whose tensors are `__keras_tensor__` objects with
///   `config.keras_history` `[name, node, tensor]`.
/// - Sequential: `config.layers` in order, each one's input the previous one's output,
///   possibly starting with an `InputLayer`.
/// - A model used as a layer (`Sequential([DenseNet121(...), ...])`) is a layer whose
///   `config` is again a model's; the walk goes through it.
struct KerasModelConfig {
    struct Layer {
        let className: String
        let name: String
        let config: [String: Any]
    }

    /// Where a layer's single input comes from.
    private enum Source { case layer(String), modelInput }

    /// One (possibly nested) model: its layers by name and how they connect.
    private struct Graph {
        let name: String
        let entries: [String: [String: Any]]
        let order: [String]
        let isSequential: Bool
        let output: String

        init(_ object: Any, name: String, error: (String) -> KerasImportError) throws {
            self.name = name
            let root = object as? [String: Any]
            let className = root?["class_name"] as? String ?? ""
            let config = root?["config"]
            let layers: [[String: Any]]
            if let list = config as? [[String: Any]] {
                layers = list
            } else if let list = (config as? [String: Any])?["layers"] as? [[String: Any]] {
                layers = list
            } else {
                throw error("the configuration of '\(name)' (\(className.isEmpty ? "no class" : className)) lists no layers")
            }
            isSequential = className == "Sequential" || config is [Any]
            var entries: [String: [String: Any]] = [:], order: [String] = []
            for layer in layers {
                guard let layerName = Self.name(of: layer) else { throw error("a layer of '\(name)' has no name") }
                entries[layerName] = layer
                order.append(layerName)
            }
            (self.entries, self.order) = (entries, order)
            if isSequential {
                guard let last = order.last(where: { Self.className(of: entries[$0]!) != "InputLayer" }) else {
                    throw error("Sequential '\(name)' has no layers")
                }
                output = last
            } else {
                var outputs = (config as? [String: Any])?["output_layers"] as? [Any] ?? []
                if outputs.first is String { outputs = [outputs] }
                guard outputs.count == 1, let first = outputs[0] as? [Any], let outputName = first.first as? String else {
                    throw error("model '\(name)' has \(outputs.count) outputs; a classifier has one")
                }
                output = outputName
            }
        }

        static func name(of layer: [String: Any]) -> String? {
            layer["name"] as? String ?? (layer["config"] as? [String: Any])?["name"] as? String
        }

        static func className(of layer: [String: Any]) -> String { layer["class_name"] as? String ?? "" }

        /// The one tensor a layer is called on.
        func input(of layerName: String, error: (String) -> KerasImportError) throws -> Source {
            if isSequential {
                let index = order.firstIndex(of: layerName)!
                let earlier = order[..<index].last { Self.className(of: entries[$0]!) != "InputLayer" }
                return earlier.map(Source.layer) ?? .modelInput
            }
            let layer = entries[layerName]!
            let nodes = layer["inbound_nodes"] as? [Any] ?? []
            guard nodes.count == 1 else {
                throw error("Keras layer '\(layerName)' (\(Self.className(of: layer))) is called \(nodes.count) times; "
                            + "SkinLesion's head is one chain of layers, each used once")
            }
            var sources: [String] = []
            Self.collectTensors(nodes[0], into: &sources)
            guard sources.count == 1 else {
                throw error("Keras layer '\(layerName)' (\(Self.className(of: layer))) takes \(sources.count) inputs; "
                            + "SkinLesion's head is one chain of layers, each taking the previous one's output")
            }
            guard let source = entries[sources[0]] else { throw error("Keras layer '\(layerName)' reads unknown layer '\(sources[0])'") }
            return Self.className(of: source) == "InputLayer" ? .modelInput : .layer(sources[0])
        }

        /// Input layer names of one call, in either Keras's layout.
        private static func collectTensors(_ node: Any, into names: inout [String]) {
            if let object = node as? [String: Any] {
                if object["class_name"] as? String == "__keras_tensor__" {
                    if let history = (object["config"] as? [String: Any])?["keras_history"] as? [Any], let name = history.first as? String {
                        names.append(name)
                    }
                    return
                }
                for key in ["args", "kwargs"] { if let value = object[key] { collectTensors(value, into: &names) } }
            } else if let list = node as? [Any] {
                // Keras 2: a call is a list of [name, node, tensor, kwargs] entries.
                if list.count >= 3, let name = list[0] as? String, list[1] is NSNumber { names.append(name); return }
                for item in list { collectTensors(item, into: &names) }
            }
        }
    }

    /// The layers after `featureLayer`, first to last.
    let head: [Layer]

    init(json: Data, featureLayer: String, file: String) throws {
        func error(_ message: String) -> KerasImportError { KerasImportError(file: file, "model configuration: \(message)") }
        let object: Any
        do { object = try JSONSerialization.jsonObject(with: json) } catch let cause {
            throw error("not JSON (\(cause.localizedDescription))")
        }
        var graph = try Graph(object, name: "model", error: error)
        // Models entered as layers, to continue in when their input is reached.
        var outer: [(graph: Graph, layer: String)] = []
        var current = graph.output, found: [Layer] = []
        while current != featureLayer {
            // A configuration that loops (no real one does) must not hang the import.
            guard let entry = graph.entries[current], found.count + outer.count < 100_000 else {
                throw error("'\(graph.name)' has no usable layer '\(current)'")
            }
            let className = Graph.className(of: entry), config = entry["config"] as? [String: Any] ?? [:]
            if config["layers"] is [Any] {
                outer.append((graph, current))
                graph = try Graph(entry, name: current, error: error)
                current = graph.output
                continue
            }
            found.append(Layer(className: className, name: current, config: config))
            var source = try graph.input(of: current, error: error)
            while case .modelInput = source {
                guard let (enclosing, layer) = outer.popLast() else {
                    throw error("the path from the input to the output does not pass through '\(featureLayer)', the "
                                + "Keras layer that ends the backbone")
                }
                graph = enclosing
                source = try graph.input(of: layer, error: error)
            }
            if case .layer(let name) = source { current = name }
        }
        head = found.reversed()
    }
}
