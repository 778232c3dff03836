import Foundation

/// How the loss weighs classes against the imbalance of dermatoscopy data (HAM10000: 67 % nevi, 1 % df).
public enum ClassWeighting: String, Codable, Sendable {
    case none
    /// w ∝ 1/n: every class contributes equally to the loss.
    case inverseFrequency
    /// w ∝ (1−β)/(1−βⁿ) (Cui et al., CVPR 2019): extra images of a class add less and less new information,
    /// so very large classes are not punished as hard as with 1/n.
    case effectiveNumber
}

public enum ClassWeights {
    /// Per-class loss weights for `counts` training images per class, normalized so that Σ w_c·n_c / Σ n_c = 1:
    /// the average weight per image stays 1, so the learning rate means the same with or without weighting.
    /// A class without images gets weight 0 (it never occurs); `beta` must be in [0, 1).
    public static func compute(counts: [Int], method: ClassWeighting, beta: Double = 0.999) -> [Float] {
        precondition(beta >= 0 && beta < 1, "effective-number beta must be in [0, 1), got \(beta)")
        let total = counts.reduce(0) { $0 + max($1, 0) }
        guard method != .none, total > 0 else { return Array(repeating: 1, count: counts.count) }
        let raw: [Double] = counts.map { n in
            guard n > 0 else { return 0 }
            switch method {
            case .none: return 1
            case .inverseFrequency: return 1 / Double(n)
            case .effectiveNumber: return (1 - beta) / (1 - pow(beta, Double(n)))
            }
        }
        let weighted = zip(raw, counts).reduce(0) { $0 + $1.0 * Double(max($1.1, 0)) }
        let scale = Double(total) / weighted
        return raw.map { Float($0 * scale) }
    }
}
