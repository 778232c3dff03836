import Foundation

/// A saved Keras model's configuration as one flat graph: every layer that computes
/// something, with the layers its call reads, nested models opened up, so the importer can
/// walk all of it and account for every layer.
///
/// Layouts (Keras 3's checked against `.keras` and legacy `.h5` files saved by pip keras
/// 3.15, which both use Keras 3's node layout; Keras 2's from its documented format,
/// exercised by h5py-written test files):
/// - root `{"class_name": "Functional" | "Model" | "Sequential", "config": {...}}`; early
///   releases of Keras 2 wrote a Sequential's `config` as the bare list of layers.
/// - Functional: `config.layers` (each with `name`, `class_name`, `config`,
///   `inbound_nodes`), `config.input_layers` and `config.output_layers`, each one
///   `[name, node, tensor]` or a list of those.
/// - `inbound_nodes`, one per call: Keras 2 `[[name, node, tensor, kwargs], …]`, Keras 3
///   `{"args": [...], "kwargs": {...}}` whose tensors are `__keras_tensor__` objects with
///   `config.keras_history` `[name, node, tensor]`.
/// - Sequential: `config.layers` in order, each one's input the previous one's output,
///   possibly starting with an `InputLayer` (Keras 3), else the first layer carries
///   `batch_input_shape` (Keras 2).
/// - A model used as a layer (`Sequential([DenseNet121(...), ...])`, or `base(x)` in a
///   functional model) is a layer whose `config` is again a model's. Its inputs become the
///   tensors its call reads, its output the output of the call.
struct KerasGraph {
    struct Node {
        /// Unique in the graph: the layer's name, scoped by the nested models around it
        /// (`xception/block1_conv1`).
        let id: String
        /// The layer's own name, as its weights are stored and errors name it.
        let name: String
        let className: String
        let config: [String: Any]
        /// Node ids of the tensors the layer's call reads, in call order.
        let inputs: [String]
        /// Keras 3's `registered_name` / `module`: where a custom class would come from.
        let registeredName: String?
    }

    private(set) var nodes: [String: Node] = [:]
    /// Node ids in the configuration's order (creation order), for messages and walks.
    private(set) var order: [String] = []
    /// The model's input layers, in order.
    private(set) var inputs: [String] = []
    private(set) var output = ""
    /// Node id → `[batch, height, width, channels]` of each input layer, top-level and
    /// nested, as configured (nil entries are unknown sizes).
    private(set) var inputShapes: [String: [Int?]] = [:]
    private var aliases: [String: String] = [:]
    private let error: (String) -> KerasImportError

    init(json: Data, file: String) throws {
        error = { KerasImportError(file: file, "model configuration: \($0)") }
        let object: Any
        do { object = try JSONSerialization.jsonObject(with: json) } catch let cause {
            throw error("not JSON (\(cause.localizedDescription))")
        }
        let (modelInputs, modelOutput) = try add(model: object, name: "model", scope: "", feeding: nil)
        inputs = modelInputs
        output = try resolve(modelOutput)
        // Resolve every reference once all aliases (nested models, their inputs) are known.
        nodes = try nodes.mapValues { node in
            Node(id: node.id, name: node.name, className: node.className, config: node.config,
                 inputs: try node.inputs.map(resolve), registeredName: node.registeredName)
        }
        try checkAcyclic()
    }

    /// A layer that reads its own output, directly or through others, would send every walk
    /// from the output around forever; a real model's graph has no cycle.
    private func checkAcyclic() throws {
        var done: [String: Bool] = [:]  // false while on the current path
        for start in order where done[start] == nil {
            var path: [(id: String, next: Int)] = [(start, 0)]
            done[start] = false
            while let (id, next) = path.last {
                let inputs = nodes[id]?.inputs ?? []
                guard next < inputs.count else {
                    done[id] = true
                    path.removeLast()
                    continue
                }
                path[path.count - 1].next += 1
                let input = inputs[next]
                switch done[input] {
                case false?: throw error("Keras layer '\(nodes[input]?.name ?? input)' reads its own output (the layers form a cycle)")
                case true?: continue
                case nil:
                    done[input] = false
                    path.append((input, 0))
                }
            }
        }
    }

    func node(_ id: String) -> Node { nodes[id]! }

    /// Follows aliases (a nested model stands for its output, a nested input for what feeds it).
    private func resolve(_ id: String) throws -> String {
        var current = id, steps = 0
        while let next = aliases[current] {
            current = next
            steps += 1
            guard steps < 10_000 else { throw error("layer references loop at '\(id)'") }
        }
        guard nodes[current] != nil else { throw error("a layer reads '\(id)', which the configuration does not define") }
        return current
    }

    static func className(of layer: [String: Any]) -> String { layer["class_name"] as? String ?? "" }

    static func name(of layer: [String: Any]) -> String? {
        layer["name"] as? String ?? (layer["config"] as? [String: Any])?["name"] as? String
    }

    /// The layers of a model object, or nil when it is not a model.
    private static func layerList(_ object: [String: Any]) -> [[String: Any]]? {
        if let list = object["config"] as? [[String: Any]] { return list }
        return (object["config"] as? [String: Any])?["layers"] as? [[String: Any]]
    }

    /// Adds a model's layers under `scope`; `feeding` are the node ids its call reads when it
    /// is nested (nil at the top). Returns its input ids (top level) and its output id.
    private mutating func add(model object: Any, name: String, scope: String,
                              feeding: [String]?) throws -> (inputs: [String], output: String) {
        guard let root = object as? [String: Any], let layers = Self.layerList(root) else {
            throw error("the configuration of '\(name)' lists no layers")
        }
        let className = Self.className(of: root)
        let config = root["config"] as? [String: Any] ?? [:]
        if className == "Sequential" || root["config"] is [Any] {
            return try addSequential(layers, name: name, scope: scope, feeding: feeding)
        }
        func references(_ key: String) -> [String] {
            var list = config[key] as? [Any] ?? []
            if list.first is String { list = [list] }
            return list.compactMap { ($0 as? [Any])?.first as? String }.map { scope + $0 }
        }
        let declaredInputs = references("input_layers"), outputs = references("output_layers")
        guard outputs.count == 1 else { throw error("model '\(name)' has \(outputs.count) outputs; a classifier has one") }
        for layer in layers {
            guard let layerName = Self.name(of: layer) else { throw error("a layer of '\(name)' has no name") }
            let id = scope + layerName
            let layerClass = Self.className(of: layer)
            if layerClass == "InputLayer" {
                if let feeding {
                    guard let position = declaredInputs.firstIndex(of: id), position < feeding.count else {
                        throw error("input '\(layerName)' of nested model '\(name)' is not fed by its call")
                    }
                    aliases[id] = feeding[position]
                    inputShapes[id] = Self.batchShape(layer["config"] as? [String: Any] ?? [:])
                } else {
                    try addInput(id: id, name: layerName, config: layer["config"] as? [String: Any] ?? [:])
                }
                continue
            }
            let calls = layer["inbound_nodes"] as? [Any] ?? []
            guard calls.count <= 1 else {
                throw error("Keras layer '\(layerName)' (\(layerClass)) is called \(calls.count) times; SkinLesion maps "
                            + "each layer to one place in the network")
            }
            guard let call = calls.first else { continue }  // built but never called: computes nothing
            var sources: [String] = []
            Self.collectTensors(call, into: &sources)
            let inputs = sources.map { scope + $0 }
            if Self.layerList(layer) != nil {
                let inner = try add(model: layer, name: layerName, scope: id + "/", feeding: inputs)
                aliases[id] = inner.output
            } else {
                append(Node(id: id, name: layerName, className: layerClass, config: layer["config"] as? [String: Any] ?? [:],
                            inputs: inputs, registeredName: layer["registered_name"] as? String))
            }
        }
        return (feeding == nil ? declaredInputs : [], outputs[0])
    }

    private mutating func addSequential(_ layers: [[String: Any]], name: String, scope: String,
                                        feeding: [String]?) throws -> (inputs: [String], output: String) {
        var previous: String? = feeding?.first
        var modelInputs: [String] = []
        for layer in layers {
            guard let layerName = Self.name(of: layer) else { throw error("a layer of '\(name)' has no name") }
            let id = scope + layerName, config = layer["config"] as? [String: Any] ?? [:]
            if Self.className(of: layer) == "InputLayer" {
                if let previous {
                    aliases[id] = previous
                    inputShapes[id] = Self.batchShape(config)
                } else {
                    try addInput(id: id, name: layerName, config: config)
                    modelInputs = [id]
                    previous = id
                }
                continue
            }
            if previous == nil {
                // Keras 2: no InputLayer entry, the first layer says what it takes.
                let inputID = scope + "input"
                try addInput(id: inputID, name: "input", config: config)
                modelInputs = [inputID]
                previous = inputID
            }
            if Self.layerList(layer) != nil {
                aliases[id] = try add(model: layer, name: layerName, scope: id + "/", feeding: [previous!]).output
            } else {
                append(Node(id: id, name: layerName, className: Self.className(of: layer), config: config,
                            inputs: [previous!], registeredName: layer["registered_name"] as? String))
            }
            previous = id
        }
        guard let last = previous, last != feeding?.first else { throw error("Sequential '\(name)' has no layers") }
        return (modelInputs, last)
    }

    private mutating func addInput(id: String, name: String, config: [String: Any]) throws {
        append(Node(id: id, name: name, className: "InputLayer", config: config, inputs: [], registeredName: nil))
        inputShapes[id] = Self.batchShape(config)
    }

    private mutating func append(_ node: Node) {
        nodes[node.id] = node
        order.append(node.id)
    }

    /// `batch_shape` (Keras 3) or `batch_input_shape` (Keras 2), nulls kept as nil.
    private static func batchShape(_ config: [String: Any]) -> [Int?]? {
        guard let list = (config["batch_shape"] ?? config["batch_input_shape"]) as? [Any] else { return nil }
        return list.map { ($0 as? NSNumber)?.intValue }
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
