import NeuralNet

extension HeadConfig {
    /// The head a state dict holds, read off its names and shapes under `headName`:
    /// `<head>.weight` of shape [classes, features] is `.linear` (an ImageNet checkpoint's
    /// `fc`); Linear layers at `<head>.0`, `<head>.4`, `<head>.8`, … are `.mlp`, the names
    /// SkinLesion's own head has. A state dict does not record a dropout rate, so the
    /// standard one is assumed; the tensors are checked when the model loads them.
    public static func inferred(from state: StateDict, headName: String) throws -> (head: HeadConfig, classes: Int) {
        func fail(_ message: String) -> NeuralNetError { .invalidArgument("\(state.source): \(message)") }
        func linear(_ name: String) -> [Int]? {
            state.entries[name + ".weight"].map(\.shape).flatMap { $0.count == 2 ? $0 : nil }
        }
        if let shape = linear(headName) { return (.linear, shape[0]) }
        var layers: [[Int]] = []
        while let shape = linear("\(headName).\(4 * layers.count)") { layers.append(shape) }
        guard let last = layers.last, layers.count >= 2 else {
            throw fail("no classifier under '\(headName)': expected \(headName).weight (a linear head, as ImageNet "
                       + "checkpoints have) or \(headName).0.weight, \(headName).4.weight, … (SkinLesion's MLP head)")
        }
        return (.mlp(hidden: layers.dropLast().map { $0[0] }, dropout: standardDropout), last[0])
    }
}
