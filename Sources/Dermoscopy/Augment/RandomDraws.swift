import NeuralNet

/// The few draws augmentation needs, written out instead of using the standard library's
/// `random(in:using:)` and `shuffled(using:)`, whose algorithms are not promised to stay the same
/// across Swift releases: a seed recorded in a run directory must give the same views forever.
extension SeededGenerator {
    /// Uniform in `range` (the upper bound is reached only up to rounding).
    mutating func uniform(_ range: ClosedRange<Float>) -> Float {
        range.lowerBound + (range.upperBound - range.lowerBound) * nextUnit()
    }

    /// Uniform in ±`limit`.
    mutating func symmetric(_ limit: Float) -> Float {
        limit * (2 * nextUnit() - 1)
    }

    /// True with probability ½.
    mutating func coin() -> Bool {
        next() >> 63 == 1
    }

    /// Uniform in `0..<count` (the high word of a 64×64-bit product, bias below 2⁻⁵⁰ for any image size).
    mutating func index(below count: Int) -> Int {
        precondition(count > 0, "index(below:) needs a positive count")
        return Int(next().multipliedFullWidth(by: UInt64(count)).high)
    }
}
