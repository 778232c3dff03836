import Foundation

/// Softmax cross-entropy on logits `[N, K]`, with optional class weights and label
/// smoothing, defined exactly as PyTorch's `CrossEntropyLoss(weight:, label_smoothing:)`:
///
///     loss = Σᵢ [ (1 − ε)·w_yᵢ·(−log p_i,yᵢ) + (ε/K)·Σₖ w_k·(−log p_ik) ] / Σᵢ w_yᵢ
///
/// so that numbers reported by SkinLesion compare directly with PyTorch training logs.
public struct SoftmaxCrossEntropy: Sendable {
    public var classWeights: [Float]?
    public var labelSmoothing: Float

    public init(classWeights: [Float]? = nil, labelSmoothing: Float = 0) throws {
        guard (0..<1).contains(labelSmoothing) else {
            throw NeuralNetError.invalidArgument("label smoothing must be in [0, 1), got \(labelSmoothing)")
        }
        if let classWeights, classWeights.contains(where: { !($0 >= 0) || !$0.isFinite }) || classWeights.allSatisfy({ $0 == 0 }) {
            throw NeuralNetError.invalidArgument("class weights must be finite, non-negative and not all zero, got \(classWeights)")
        }
        self.classWeights = classWeights
        self.labelSmoothing = labelSmoothing
    }

    public struct Result {
        public let loss: Float
        /// ∂loss/∂logits, `[N, K]`, plain.
        public let gradient: Tensor
        /// Softmax probabilities, row-major `[N, K]`.
        public let probabilities: [Float]
    }

    public func callAsFunction(logits: Tensor, labels: [Int]) throws -> Result {
        guard logits.shape.count == 2 else { throw NeuralNetError.invalidShape("loss expects logits [N, K], got \(logits.shape)") }
        let (n, k) = (logits.shape[0], logits.shape[1])
        guard labels.count == n else {
            throw NeuralNetError.invalidShape("loss got \(labels.count) labels for a batch of \(n)")
        }
        if let bad = labels.first(where: { !(0..<k).contains($0) }) {
            throw NeuralNetError.invalidArgument("label \(bad) is outside the \(k) classes")
        }
        let weights = (classWeights ?? [Float](repeating: 1, count: k)).map(Double.init)
        guard weights.count == k else {
            throw NeuralNetError.invalidArgument("\(weights.count) class weights given for \(k) classes")
        }
        let z = try logits.toArray()
        let eps = Double(labelSmoothing)
        let weightSum = weights.reduce(0, +)
        let total = labels.reduce(0.0) { $0 + weights[$1] }
        guard total > 0 else { throw NeuralNetError.invalidArgument("every label in the batch has class weight 0") }

        var probabilities = [Float](repeating: 0, count: n * k)
        var gradient = [Float](repeating: 0, count: n * k)
        var loss = 0.0
        for i in 0..<n {
            let row = z[(i * k)..<(i * k + k)].map(Double.init)
            let m = row.max()!
            let logSum = m + Foundation.log(row.reduce(0) { $0 + Foundation.exp($1 - m) })
            let y = labels[i]
            var smoothTerm = 0.0
            for j in 0..<k {
                let logP = row[j] - logSum
                let p = Foundation.exp(logP)
                probabilities[i * k + j] = Float(p)
                smoothTerm += weights[j] * -logP
                let hard = (1 - eps) * weights[y] * (p - (j == y ? 1 : 0))
                let soft = eps / Double(k) * (weightSum * p - weights[j])
                gradient[i * k + j] = Float((hard + soft) / total)
            }
            loss += (1 - eps) * weights[y] * -(row[y] - logSum) + eps / Double(k) * smoothTerm
        }
        return Result(loss: Float(loss / total), gradient: try Tensor(shape: [n, k], values: gradient),
                      probabilities: probabilities)
    }
}
