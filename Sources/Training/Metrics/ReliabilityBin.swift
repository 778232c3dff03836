/// One bar of a reliability diagram: the images whose top-1 confidence lies in (lower, upper] (the first bin
/// also holds confidence 0), how confident the model was on them on average, and how often it was right.
/// A calibrated model has accuracy ≈ meanConfidence in every bin.
public struct ReliabilityBin: Codable, Sendable, Equatable {
    public let lower: Double
    public let upper: Double
    public let count: Int
    /// Mean top-1 probability in the bin; nil when the bin is empty (there is nothing to average, and a 0 would
    /// draw a bar that no image supports).
    public let meanConfidence: Double?
    /// Share of the bin's images whose top-1 class is the true one; nil when the bin is empty.
    public let accuracy: Double?

    public init(lower: Double, upper: Double, count: Int, meanConfidence: Double?, accuracy: Double?) {
        self.lower = lower
        self.upper = upper
        self.count = count
        self.meanConfidence = meanConfidence
        self.accuracy = accuracy
    }
}
