import Foundation
import NeuralNet

/// Random initialisation as torchvision does it, so a model trained from scratch here starts
/// where a PyTorch user's would: Kaiming-normal (fan-out, ReLU gain) convolutions, BatchNorm
/// γ = 1 and β = 0, and PyTorch's default uniform ±1/√fan-in for linear layers.
enum Initialization {
    static func apply(to model: any Layer, seed: UInt64) throws {
        var rng = SeededGenerator(seed: seed)
        let named = model.namedParameters
        let shapes = Dictionary(named.map { ($0.name, $0.parameter.shape) }, uniquingKeysWith: { a, _ in a })
        for (name, p) in named where p.kind == .weight {
            let leaf = name.components(separatedBy: ".").last!
            let linearFanIn = leaf == "bias" ? shapes[name.dropLast(4) + "weight"].flatMap { $0.count == 2 ? $0[1] : nil } : nil
            let values: [Float]
            switch (p.shape.count, leaf) {
            case (4, "weight"):
                let std = (2.0 / Float(p.shape[0] * p.shape[2] * p.shape[3])).squareRoot()
                values = (0..<p.count).map { _ in rng.nextNormal() * std }
            case (2, "weight"):
                values = uniform(p.count, bound: 1 / Float(p.shape[1]).squareRoot(), &rng)
            case (1, "bias") where linearFanIn != nil:
                values = uniform(p.count, bound: 1 / Float(linearFanIn!).squareRoot(), &rng)
            case (1, "weight"):
                values = [Float](repeating: 1, count: p.count)
            default:
                values = [Float](repeating: 0, count: p.count)
            }
            try p.assign(values)
        }
    }

    private static func uniform(_ count: Int, bound: Float, _ rng: inout SeededGenerator) -> [Float] {
        (0..<count).map { _ in (rng.nextUnit() * 2 - 1) * bound }
    }
}
