import NeuralNet

/// The order in which training sees record indices. Each epoch's order is a pure function of (seed, epoch),
/// so a run resumed from a checkpoint at epoch 7 sees exactly the images it would have seen.
public struct EpochSampler: Sendable, Codable {
    public enum Strategy: Codable, Sendable, Equatable {
        /// Every index once, in a new order each epoch.
        case shuffle
        /// Draws with replacement, each index weighted by 1/(its class count), so every class is equally
        /// likely per draw; the epoch has as many draws as there are records.
        case balanced
        /// Every index at least once; each smaller class repeated up to `factor` × its count, but never beyond
        /// the majority class's count (whole copies, then a random subset for the remainder).
        case oversample(factor: Double)
    }

    /// Class index per record.
    public let labels: [Int]
    public let strategy: Strategy
    public let seed: UInt64

    public init(labels: [Int], strategy: Strategy, seed: UInt64) {
        self.labels = labels
        self.strategy = strategy
        self.seed = seed
    }

    public func order(epoch: Int) -> [Int] {
        var generator = SeededGenerator(seed: SeededDraws.seed(seed, salt: UInt64(bitPattern: Int64(epoch))))
        switch strategy {
        case .shuffle:
            var order = Array(labels.indices)
            SeededDraws.shuffle(&order, using: &generator)
            return order
        case .balanced:
            let classes = indicesByClass()
            guard !classes.isEmpty else { return [] }
            return labels.indices.map { _ in
                let members = classes[SeededDraws.below(classes.count, using: &generator)]
                return members[SeededDraws.below(members.count, using: &generator)]
            }
        case .oversample(let factor):
            let classes = indicesByClass()
            let majority = classes.map(\.count).max() ?? 0
            var order: [Int] = []
            for members in classes {
                let scaled = Double(members.count) * factor
                let target = scaled.isNaN ? members.count : Int(min(Double(majority), max(Double(members.count), scaled)).rounded())
                for _ in 0..<(target / members.count) { order += members }
                var remainder = members
                SeededDraws.shuffle(&remainder, using: &generator)
                order += remainder.prefix(target % members.count)
            }
            SeededDraws.shuffle(&order, using: &generator)
            return order
        }
    }

    /// Record indices per class, classes in ascending label order (never dictionary order, which changes from
    /// process to process).
    private func indicesByClass() -> [[Int]] {
        Dictionary(grouping: labels.indices, by: { labels[$0] }).sorted { $0.key < $1.key }.map(\.value)
    }
}
