import NeuralNet

/// The hyperparameters `skinlesion tune` searches: `train` options, each with the values to
/// try (`lr=3e-4,1e-3,3e-3 freeze=layer3,layer4`). The grid is their product; a search of
/// fewer trials than the grid takes a seeded sample of it, so a rerun draws the same trials.
public struct TuningSpace: Sendable, Equatable, Codable {
    /// One `train` option (without its `--`) and the values to try, in the order given.
    public struct Dimension: Sendable, Equatable, Codable {
        public let option: String
        public let values: [String]
    }

    public let dimensions: [Dimension]

    /// Options the search itself owns: the run directory, the epoch budget, what ranks the
    /// trials, the seed and split every trial shares (so their validation scores compare), and
    /// the run kinds a trial is not.
    public static let reserved: Set<String> = ["output", "resume", "dataset", "epochs", "stop-after-epochs", "monitor",
                                               "seed", "split", "official-split", "folds", "fold", "help"]
    /// A grid bigger than this is a typo, not a search a CPU can run.
    public static let maxConfigurations = 10_000
    public static let maxValues = 64

    /// Parses `option=v1,v2,…` terms; an option may appear once.
    public init(_ terms: [String]) throws {
        var dimensions: [Dimension] = []
        for term in terms {
            guard let equals = term.firstIndex(of: "=") else {
                throw TuningError("--space '\(term)': expected option=value1,value2 (e.g. lr=3e-4,1e-3)")
            }
            let option = String(term[..<equals]).trimmingCharacters(in: .whitespaces)
            let values = term[term.index(after: equals)...].split(separator: ",", omittingEmptySubsequences: false)
                .map { $0.trimmingCharacters(in: .whitespaces) }
            guard !option.isEmpty, option.allSatisfy({ $0.isLowercase || $0.isNumber || $0 == "-" }), option.first != "-" else {
                throw TuningError("--space '\(term)': '\(option)' is not a train option name (lower-case, e.g. lr, freeze, image-size)")
            }
            guard !Self.reserved.contains(option) else {
                throw TuningError("--space '\(term)': --\(option) belongs to tune itself (reserved: \(Self.reserved.sorted().joined(separator: ", ")))")
            }
            guard !dimensions.contains(where: { $0.option == option }) else { throw TuningError("--space names '\(option)' twice") }
            guard !values.contains(where: \.isEmpty), (1...Self.maxValues).contains(values.count), Set(values).count == values.count else {
                throw TuningError("--space '\(term)': give 1…\(Self.maxValues) distinct, non-empty values separated by commas")
            }
            dimensions.append(Dimension(option: option, values: values))
        }
        guard !dimensions.isEmpty else { throw TuningError("--space needs at least one option=values term") }
        let size = dimensions.reduce(1) { $0 * $1.values.count }
        guard size <= Self.maxConfigurations, dimensions.count <= 16 else {
            throw TuningError("--space spans more than \(Self.maxConfigurations) configurations; narrow it")
        }
        self.dimensions = dimensions
    }

    /// The number of configurations in the grid.
    public var gridSize: Int { dimensions.reduce(1) { $0 * $1.values.count } }

    /// Configuration `index` of the grid (the last dimension varies fastest), as
    /// (option, value) pairs in the space's order.
    public func configuration(_ index: Int) -> [(option: String, value: String)] {
        var rest = index
        var picks: [(String, String)] = []
        for dimension in dimensions.reversed() {
            picks.append((dimension.option, dimension.values[rest % dimension.values.count]))
            rest /= dimension.values.count
        }
        return picks.reversed()
    }

    /// `count` distinct grid indices: the whole grid in order when it has no more than
    /// `count`, else a sample drawn with `seed`, sorted.
    public func sample(_ count: Int, seed: UInt64) -> [Int] {
        guard count < gridSize else { return Array(0..<gridSize) }
        var indices = Array(0..<gridSize)
        var rng = SeededGenerator(seed: seed)
        for position in 0..<count {
            indices.swapAt(position, Int.random(in: position..<gridSize, using: &rng))
        }
        return indices.prefix(count).sorted()
    }
}

public struct TuningError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
