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

    /// The seeds' head: GAP → Dense(256) + BN + ReLU + Dropout(0.5) → Dense(N).
    public static let standard = HeadConfig.mlp(hidden: [256], dropout: standardDropout)
    public static let standardDropout: Float = 0.5
    /// The hidden layers' BatchNorm ε, PyTorch's BatchNorm1d default.
    public static let batchNormEpsilon: Float = 1e-5

    func build(inFeatures: Int, classes: Int, seed: UInt64) throws -> any Layer {
        guard classes >= 2 else { throw NeuralNetError.invalidArgument("a classifier needs at least 2 classes, got \(classes)") }
        switch self {
        case .linear:
            return try Linear(inFeatures, classes)
        case .mlp(let hidden, let dropout):
            guard !hidden.isEmpty, hidden.allSatisfy({ $0 > 0 }) else {
                throw NeuralNetError.invalidArgument("head hidden sizes must be positive, got \(hidden)")
            }
            var layers: [(String, any Layer)] = []
            var width = inFeatures
            for (index, size) in hidden.enumerated() {
                layers += [("\(layers.count)", try Linear(width, size)), ("\(layers.count + 1)", try BatchNorm(size, epsilon: Self.batchNormEpsilon)),
                           ("\(layers.count + 2)", Activation(.relu)),
                           ("\(layers.count + 3)", try Dropout(dropout, seed: seed &+ UInt64(index)))]
                width = size
            }
            layers.append(("\(layers.count)", try Linear(width, classes)))
            return Sequential(layers)
        }
    }
}
