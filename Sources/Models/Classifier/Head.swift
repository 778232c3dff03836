import NeuralNet

/// The classifier on top of the pooled features.
public enum HeadConfig: Sendable, Equatable, Codable {
    /// One linear layer, as ImageNet checkpoints have it (`fc`, `_fc`).
    case linear
    /// Dense(+BN, ReLU, Dropout) blocks then the output layer, as the HAM10000 projects
    /// that this tool replaces use: `fc.0` Linear, `fc.1` BatchNorm1d, `fc.2` ReLU,
    /// `fc.3` Dropout, …, last index the output Linear — the names PyTorch gives
    /// `model.fc = nn.Sequential(...)` (under the architecture's head name).
    case mlp(hidden: [Int], dropout: Float)
    /// Any chain of `HeadLayer`s after global `pooling`, then the output Linear: the heads
    /// Keras models are built with (`GlobalMaxPooling2D`, `Dense(512, activation="relu")`,
    /// `Dropout` first, widths that differ), which `import` writes when the head is neither of
    /// the above. Named as `nn.Sequential` would be, one index per layer: `fc.0`, `fc.1`, …,
    /// the output Linear last. `.mlp` is the case `layers == mlpLayers`, pooling average.
    case sequence(pooling: GlobalPool.Kind, layers: [HeadLayer])

    /// The seeds' head: GAP → Dense(256) + BN + ReLU + Dropout(0.5) → Dense(N).
    public static let standard = HeadConfig.mlp(hidden: [256], dropout: standardDropout)
    public static let standardDropout: Float = 0.5
    /// The hidden layers' BatchNorm ε, PyTorch's BatchNorm1d default.
    public static let batchNormEpsilon: Float = 1e-5

    /// The simplest case that computes `layers` after `pooling`, so that a head expressible
    /// as `.linear` or `.mlp` keeps those names and files.
    public static func simplest(pooling: GlobalPool.Kind, layers: [HeadLayer]) -> HeadConfig {
        guard pooling == .average else { return .sequence(pooling: pooling, layers: layers) }
        if layers.isEmpty { return .linear }
        if layers.count % 4 == 0, let rate = layers[3].dropoutRate {
            let hidden = stride(from: 0, to: layers.count, by: 4).compactMap { layers[$0].denseUnits }
            let mlp = HeadConfig.mlp(hidden: hidden, dropout: rate)
            if mlp.layers == layers { return mlp }
        }
        return .sequence(pooling: pooling, layers: layers)
    }

    /// How the feature map becomes a vector before the head.
    public var pooling: GlobalPool.Kind {
        if case .sequence(let pooling, _) = self { return pooling }
        return .average
    }

    /// The layers before the output Linear.
    public var layers: [HeadLayer] {
        switch self {
        case .linear: return []
        case .mlp(let hidden, let dropout):
            return hidden.flatMap { [.dense(units: $0), .batchNorm, .activation(.relu), .dropout(rate: dropout)] }
        case .sequence(_, let layers): return layers
        }
    }

    /// One line for people: `GlobalMaxPool → Dense 256 → relu → Dropout 0.3 → Dense (classes)`.
    public var summary: String {
        let pool = pooling == .max ? "GlobalMaxPool" : "GlobalAvgPool"
        return ([pool] + layers.map(\.summary) + ["Dense (classes)"]).joined(separator: " → ")
    }

    func build(inFeatures: Int, classes: Int, seed: UInt64) throws -> any Layer {
        guard classes >= 2 else { throw NeuralNetError.invalidArgument("a classifier needs at least 2 classes, got \(classes)") }
        if case .linear = self { return try Linear(inFeatures, classes) }
        if case .mlp(let hidden, _) = self {
            guard !hidden.isEmpty, hidden.allSatisfy({ $0 > 0 }) else {
                throw NeuralNetError.invalidArgument("head hidden sizes must be positive, got \(hidden)")
            }
        }
        var modules: [(String, any Layer)] = []
        var width = inFeatures, dropouts: UInt64 = 0
        for layer in layers {
            let module: any Layer
            switch layer {
            case .dense(let units):
                guard units > 0 else { throw NeuralNetError.invalidArgument("head Dense widths must be positive, got \(units)") }
                module = try Linear(width, units)
                width = units
            case .batchNorm: module = try BatchNorm(width, epsilon: Self.batchNormEpsilon)
            case .activation(let kind): module = Activation(kind)
            case .dropout(let rate):
                module = try Dropout(rate, seed: seed &+ dropouts)
                dropouts += 1
            }
            modules.append(("\(modules.count)", module))
        }
        modules.append(("\(modules.count)", try Linear(width, classes)))
        return Sequential(modules)
    }
}

/// One layer of a head between the pooled features and the output Linear.
public enum HeadLayer: Sendable, Equatable, Codable {
    /// Linear with bias to `units` features.
    case dense(units: Int)
    /// BatchNorm1d over the current width, ε `HeadConfig.batchNormEpsilon`.
    case batchNorm
    case activation(Activation.Kind)
    case dropout(rate: Float)

    public var dropoutRate: Float? {
        if case .dropout(let rate) = self { return rate }
        return nil
    }

    public var denseUnits: Int? {
        if case .dense(let units) = self { return units }
        return nil
    }

    public var summary: String {
        switch self {
        case .dense(let units): return "Dense \(units)"
        case .batchNorm: return "BatchNorm"
        case .activation(let kind): return kind.rawValue
        case .dropout(let rate): return "Dropout \(rate)"
        }
    }
}
