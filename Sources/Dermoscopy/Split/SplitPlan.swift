/// How to divide a dataset into train / val / test.
public struct SplitPlan: Sendable {
    /// Share of the images per split; must be non-negative and sum to 1.
    public var fractions: (train: Double, val: Double, test: Double)
    public var groupBy: GroupKey
    /// Balance every class across the splits rather than the dataset as a whole: rare classes such as df
    /// (1 % of HAM10000) would otherwise often miss val or test entirely.
    public var stratified: Bool
    public var seed: UInt64
    /// Use each record's official split instead of drawing one (DermaMNIST, train/test folders); every record
    /// must have one.
    public var useOfficialSplit: Bool

    public init(fractions: (train: Double, val: Double, test: Double) = (0.7, 0.15, 0.15), groupBy: GroupKey = .lesion,
                stratified: Bool = true, seed: UInt64, useOfficialSplit: Bool = false) {
        self.fractions = fractions
        self.groupBy = groupBy
        self.stratified = stratified
        self.seed = seed
        self.useOfficialSplit = useOfficialSplit
    }

    /// Throws `SplitError` for shares that are negative, not finite, leave train empty or do not sum to 1.
    public func validate() throws {
        let shares = [fractions.train, fractions.val, fractions.test]
        guard shares.allSatisfy({ $0.isFinite && $0 >= 0 }), fractions.train > 0 else {
            throw SplitError(message: "split fractions must be finite and non-negative with a positive train share, got \(shares)")
        }
        guard abs(shares.reduce(0, +) - 1) < 1e-6 else {
            throw SplitError(message: "split fractions must sum to 1, got \(shares) (sum \(shares.reduce(0, +)))")
        }
    }

    /// One line for the manifest, so a split file says how it was made.
    var summary: String {
        if useOfficialSplit { return "official split, checked by \(groupBy.rawValue)" }
        return "grouped by \(groupBy.rawValue), \(stratified ? "stratified by class" : "not stratified"), "
            + "train \(fractions.train) / val \(fractions.val) / test \(fractions.test), seed \(seed)"
    }
}

/// A split that cannot be made as asked: bad fractions, too few groups, a missing or leaking official split.
public struct SplitError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public init(message: String) { self.message = message }
    public var description: String { message }
}
