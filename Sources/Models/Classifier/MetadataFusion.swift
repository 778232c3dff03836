import NeuralNet

/// The shape of a metadata-fusion head (Gessert et al. 2019, Ha et al. 2020): the encoded
/// patient metadata goes through its own MLP, (Dense → BatchNorm → ReLU → Dropout) per hidden
/// width, whose output is concatenated after the pooled image features; the usual head
/// (`HeadConfig`) then reads the joined vector.
///
/// Parameters are named as `nn.Sequential` would name the branch: `meta.0` Linear, `meta.1`
/// BatchNorm1d, `meta.2` ReLU, `meta.3` Dropout, `meta.4` the next Linear, …
public struct MetadataFusion: Codable, Sendable, Equatable {
    /// Width of the encoded metadata vector (`MetadataSpec.width`).
    public var inputs: Int
    public var hidden: [Int]
    public var dropout: Float

    public static let branchName = "meta"
    /// Gessert's and Ha's branch ends in 128 units; one layer is plenty for a dozen inputs.
    public static let standardHidden = [128]
    public static let standardDropout: Float = 0.3

    public init(inputs: Int, hidden: [Int] = Self.standardHidden, dropout: Float = Self.standardDropout) {
        (self.inputs, self.hidden, self.dropout) = (inputs, hidden, dropout)
    }

    /// Width of what the branch adds to the image features.
    public var outputs: Int { hidden.last ?? inputs }

    func validate() throws {
        guard inputs > 0, !hidden.isEmpty, hidden.allSatisfy({ $0 > 0 }) else {
            throw NeuralNetError.invalidArgument("metadata fusion needs a positive input width and hidden sizes, got \(inputs) → \(hidden)")
        }
        guard dropout >= 0, dropout < 1 else {
            throw NeuralNetError.invalidArgument("metadata dropout must be in [0, 1), got \(dropout)")
        }
    }

    func buildBranch(seed: UInt64) throws -> Sequential {
        try validate()
        var layers: [(String, any Layer)] = []
        var width = inputs
        for (index, size) in hidden.enumerated() {
            layers += [("\(layers.count)", try Linear(width, size)),
                       ("\(layers.count + 1)", try BatchNorm(size, epsilon: HeadConfig.batchNormEpsilon)),
                       ("\(layers.count + 2)", Activation(.relu)),
                       ("\(layers.count + 3)", try Dropout(dropout, seed: seed &+ 0x4D45_5441 &+ UInt64(index)))]
            width = size
        }
        return Sequential(layers)
    }
}
