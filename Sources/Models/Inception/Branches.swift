import NeuralNet

/// Parallel branches on one input, concatenated along channels in order: an Inception
/// "mixed" module, or the 1×3 / 3×1 fork inside InceptionV3's last modules. Names nest like
/// the branches' own (`Mixed_5b.branch5x5_2.conv.weight`); an empty name adds no prefix.
///
/// Backward hands each branch its channel slice of the gradient and sums the gradients they
/// return for the shared input.
package final class Branches: Layer {
    package let branches: [(name: String, layer: any Layer)]
    private let concat = Concat()

    init(_ branches: [(String, any Layer)]) {
        self.branches = branches.map { (name: $0.0, layer: $0.1) }
    }

    package var namedParameters: [(name: String, parameter: Parameter)] {
        branches.flatMap { branch in
            branch.layer.namedParameters.map { (branch.name.isEmpty ? $0.name : branch.name + "." + $0.name, $0.parameter) }
        }
    }

    package func forward(_ x: Tensor, mode: Mode) throws -> Tensor {
        try concat.forward(branches.map { try $0.layer.forward(x, mode: mode) }, mode: mode)
    }

    package func backward(_ dy: Tensor, needsInputGradient: Bool) throws -> Tensor? {
        let slices = try concat.backward(dy)
        var sum: Tensor?
        for (branch, slice) in zip(branches, slices) {
            let dx = try branch.layer.backward(slice, needsInputGradient: needsInputGradient)
            if needsInputGradient, let dx { sum = try sum.map { try Add.forward($0, dx) } ?? dx }
        }
        return sum
    }
}
