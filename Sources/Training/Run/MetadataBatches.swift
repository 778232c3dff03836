import Dermoscopy
import NeuralNet

/// The encoded metadata of one split, batch by batch, for a fusion model.
///
/// Each sample's values are encoded once; a training batch re-encodes a sample only when the
/// feature dropout drew one of its features to "missing". The draw is seeded by (run seed,
/// epoch, position) like the augmentation, so a resumed run sees the same missing values.
struct MetadataBatches {
    let spec: MetadataSpec
    private let values: [[String: String]]
    private let encoded: [[Float]]
    /// Images whose values the spec did not know, reported once.
    let unknown: [String]

    init(spec: MetadataSpec, values: [[String: String]], imageIDs: [String]) throws {
        self.spec = spec
        self.values = values
        var encoded: [[Float]] = [], unknown: [String] = []
        for (sample, id) in zip(values, imageIDs) {
            let result = try spec.encode(sample)
            encoded.append(result.vector)
            unknown += result.unknown.map { "\(id): \($0)" }
        }
        self.encoded = encoded
        self.unknown = unknown
    }

    /// `[positions.count, spec.width]`; with `dropout`, features go missing with that
    /// probability each.
    func tensor(_ positions: [Int], dropout: (probability: Float, seed: UInt64, epoch: Int)? = nil) throws -> Tensor {
        var rows: [Float] = []
        rows.reserveCapacity(positions.count * spec.width)
        for position in positions {
            guard let dropout, dropout.probability > 0 else { rows += encoded[position]; continue }
            var rng = SeededGenerator(seed: sampleSeed(dropout.seed ^ 0x6D65_7461_6472_6F70, epoch: dropout.epoch, position: position))
            let dropped = Set(spec.features.indices.filter { _ in rng.nextUnit() < dropout.probability })
            rows += dropped.isEmpty ? encoded[position] : try spec.encode(values[position], dropped: dropped).vector
        }
        return try Tensor(shape: [positions.count, spec.width], values: rows)
    }
}
