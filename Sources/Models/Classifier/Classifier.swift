import NeuralNet

/// Backbone → global pooling → head: the whole network a user trains and serves.
///
/// It is one `Sequential` whose frozen prefix costs only a forward pass: freeze everything
/// below a stage and those modules run in inference mode (BatchNorm folded, no activations
/// kept, no gradients computed).
public final class Classifier: Layer {
    public let architecture: Architecture
    public let classes: Int
    public let head: HeadConfig
    /// The patient-metadata branch, when the model fuses metadata with the image.
    public let fusion: MetadataFusion?
    /// The modules in order: backbone, pooling, head (exporters walk it).
    package let network: Sequential
    private let fusionHead: MetadataFusionHead?
    /// Names of the modules that can be the first trainable one, bottom to top.
    public let stages: [String]

    init(architecture: Architecture, backbone: [(String, any Layer)], featureChannels: Int, classes: Int,
         head: HeadConfig, fusion: MetadataFusion?, seed: UInt64) throws {
        self.architecture = architecture
        self.classes = classes
        self.head = head
        self.fusion = fusion
        let pooling: [(String, any Layer)] = architecture.poolsFeatures ? [(head.pooling == .max ? "maxpool" : "avgpool", GlobalPool(head.pooling))] : []
        let top: (String, any Layer)
        if let fusion {
            guard architecture.poolsFeatures else {
                throw NeuralNetError.invalidArgument("\(architecture.name) ends in its own fully connected top; metadata fusion "
                                                     + "needs a backbone that ends in pooled features")
            }
            let fused = try MetadataFusionHead(
                fusion: fusion, imageFeatures: featureChannels, headName: architecture.headName,
                head: try head.build(inFeatures: featureChannels + fusion.outputs, classes: classes, seed: seed), seed: seed)
            fusionHead = fused
            top = ("", fused)
        } else {
            fusionHead = nil
            top = (architecture.headName, try head.build(inFeatures: featureChannels, classes: classes, seed: seed))
        }
        let modules = backbone + pooling + [top]
        network = Sequential(modules)
        network.skipsFrozenPrefix = true
        stages = modules.compactMap { name, layer in
            layer.parameters.isEmpty ? nil : (name.isEmpty ? Self.stageName(of: layer) : name)
        }
        try Initialization.apply(to: self, seed: seed)
    }

    public var namedParameters: [(name: String, parameter: Parameter)] { network.namedParameters }

    /// Learnable weights only (no running statistics), the figure papers and Keras report.
    public var parameterCount: Int {
        parameters.filter { $0.kind == .weight }.reduce(0) { $0 + $1.count }
    }

    /// The count the architecture's source publishes: `parameterCount`, plus BatchNorm's
    /// running statistics where the source is Keras (`Architecture.countsRunningStatistics`).
    public var publishedParameterCount: Int {
        guard architecture.countsRunningStatistics else { return parameterCount }
        return parameters.filter { $0.kind != .counter }.reduce(0) { $0 + $1.count }
    }

    /// Sets the encoded metadata `[N, fusion.inputs]` of the next forward's images; models
    /// without fusion take none.
    public func setMetadata(_ metadata: Tensor?) throws {
        guard let fusionHead else {
            guard metadata == nil else {
                throw NeuralNetError.invalidArgument("\(architecture.name) model was trained without metadata; it takes none")
            }
            return
        }
        fusionHead.metadata = metadata
    }

    /// False makes a fusion model ignore its metadata (the branch's output is zero): the
    /// image stage of two-stage training.
    public func useMetadata(_ uses: Bool) { fusionHead?.usesMetadata = uses }

    public func forward(_ x: Tensor, mode: Mode) throws -> Tensor {
        let size = architecture.inputSize
        guard x.shape.count == 4, x.shape[1] == 3 else {
            throw NeuralNetError.invalidShape("\(architecture.name) expects images [N, 3, H, W] (\(size)×\(size) by default), got \(x.shape)")
        }
        return try network.forward(x, mode: mode)
    }

    public func backward(_ dy: Tensor, needsInputGradient: Bool) throws -> Tensor? {
        try network.backward(dy, needsInputGradient: needsInputGradient)
    }

    /// Freezes every weight below `stage` and unfreezes the rest: the head's name (`"fc"`)
    /// trains the head only, `"layer4"` the last stage plus head, the first stage everything.
    public func trainFrom(stage: String) throws {
        guard let start = stages.firstIndex(of: stage) else {
            throw NeuralNetError.invalidArgument("unknown stage '\(stage)' for \(architecture.name); stages are \(stages.joined(separator: ", "))")
        }
        let trainable = Set(stages[start...])
        for (name, module) in network.children where !module.parameters.isEmpty {
            module.setFrozen(!trainable.contains(name.isEmpty ? Self.stageName(of: module) : name))
        }
    }

    /// The top-level modules up to and including `module` (named as in `stages`, such as
    /// `architecture.camLayer`) and those after it: Grad-CAM runs the first part for the
    /// activations it explains and differentiates the second.
    public func split(after module: String) throws -> (prefix: [any Layer], suffix: [any Layer]) {
        guard let index = network.children.firstIndex(where: { name, layer in
            (name.isEmpty && !layer.parameters.isEmpty ? Self.stageName(of: layer) : name) == module
        }) else {
            throw NeuralNetError.invalidArgument("no top-level module '\(module)' in \(architecture.name); stages are \(stages.joined(separator: ", "))")
        }
        let layers = network.children.map(\.layer)
        return (Array(layers[...index]), Array(layers[(index + 1)...]))
    }

    /// The top-level modules below `stage` (named as in `stages`): what `trainFrom(stage:)`
    /// freezes, so training runs them forward only. Empty for the first stage.
    public func modules(before stage: String) throws -> [any Layer] {
        guard stages.contains(stage), let index = network.children.firstIndex(where: { name, layer in
            !layer.parameters.isEmpty && (name.isEmpty ? Self.stageName(of: layer) : name) == stage
        }) else {
            throw NeuralNetError.invalidArgument("unknown stage '\(stage)' for \(architecture.name); stages are \(stages.joined(separator: ", "))")
        }
        return network.children[..<index].map(\.layer)
    }

    /// An unnamed top-level module (the stem, whose parameters are `conv1.*` and `bn1.*`) is
    /// called after its first parameter's top-level name.
    /// The fusion head is the head stage, under the head's name.
    private static func stageName(of module: any Layer) -> String {
        if let fused = module as? MetadataFusionHead { return fused.headName }
        return module.namedParameters[0].name.components(separatedBy: ".")[0]
    }
}

extension Classifier {
    /// Gives every dropout layer a generator derived from `seed`, so the masks of a training
    /// step depend only on the run seed and the step number: a resumed run draws the same ones.
    /// `rowsBefore` is the position of this process's first image in the global batch of a
    /// data-parallel step, so each image's mask is keyed by that position, never by the rank.
    public func reseedDropout(_ seed: UInt64, rowsBefore: Int = 0) {
        var index: UInt64 = 0
        func visit(_ layer: any Layer) {
            if let dropout = layer as? Dropout {
                dropout.generator = SeededGenerator(seed: seed &+ index &* 0x9E37_79B9_7F4A_7C15)
                dropout.rowsBefore = rowsBefore
                index += 1
            } else if let sequential = layer as? Sequential {
                sequential.children.forEach { visit($0.layer) }
            } else if let fused = layer as? MetadataFusionHead {
                fused.children.forEach(visit)
            }
        }
        visit(network)
    }
}
