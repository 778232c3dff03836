import NeuralNet

/// Draws and shuffles that depend only on `SeededGenerator`'s output, never on the standard library's
/// algorithms (free to change between Swift releases): a seed must give the same split and the same epoch
/// order on every toolchain, or a resumed run and a reproduced paper would silently diverge.
enum SeededDraws {
    /// Uniform in `0..<bound` without modulo bias (Lemire's multiply-and-reject).
    static func below(_ bound: Int, using generator: inout SeededGenerator) -> Int {
        precondition(bound > 0, "SeededDraws.below needs a positive bound")
        let range = UInt64(bound)
        var (high, low) = generator.next().multipliedFullWidth(by: range)
        if low < range {
            let threshold = (0 &- range) % range
            while low < threshold { (high, low) = generator.next().multipliedFullWidth(by: range) }
        }
        return Int(high)
    }

    /// Fisher–Yates.
    static func shuffle<Element>(_ elements: inout [Element], using generator: inout SeededGenerator) {
        guard elements.count > 1 else { return }
        for i in stride(from: elements.count - 1, to: 0, by: -1) {
            elements.swapAt(i, below(i + 1, using: &generator))
        }
    }

    /// An independent stream of `seed` for each `salt` (an epoch, a class): one user seed drives every random
    /// choice, while changing one class or epoch leaves the others' draws unchanged.
    static func seed(_ seed: UInt64, salt: UInt64) -> UInt64 {
        var generator = SeededGenerator(seed: seed ^ (salt &* 0xD1B5_4A32_D192_ED03))
        return generator.next()
    }

    /// FNV-1a of `name`, a salt that is stable across processes (Swift's `hashValue` is not).
    static func salt(_ name: String) -> UInt64 {
        name.utf8.reduce(0xCBF2_9CE4_8422_2325) { ($0 ^ UInt64($1)) &* 0x100_0000_01B3 }
    }
}
