import NeuralNet

/// Keras's `MaxPooling2D(padding="same")`: TensorFlow "SAME" padding computed from the input
/// it is given (output ⌈size / stride⌉, the odd padded pixel at the bottom/right), padded
/// positions never winning the max. The padding depends on the size, so a pool is made per
/// input size; any input size works as it does in Keras.
package final class SameMaxPool: Layer {
    package let kernel: Int
    package let stride: Int
    private var pools: [[Int]: Pool2D] = [:]
    private var used: Pool2D?

    init(kernel: Int, stride: Int) {
        (self.kernel, self.stride) = (kernel, stride)
    }

    package var namedParameters: [(name: String, parameter: Parameter)] { [] }

    package func forward(_ x: Tensor, mode: Mode) throws -> Tensor {
        guard x.shape.count == 4 else { throw NeuralNetError.invalidShape("SameMaxPool expects [N, C, H, W], got \(x.shape)") }
        let pool = try pool(forInput: Array(x.shape[2...]))
        used = mode == .training ? pool : nil
        return try pool.forward(x, mode: mode)
    }

    /// The pool with TensorFlow "SAME" padding for an input of height and width `spatial`.
    package func pool(forInput spatial: [Int]) throws -> Pool2D {
        if let made = pools[spatial] { return made }
        let pads = spatial.map { samePadding(size: $0, kernel: kernel, stride: stride) }
        let made = try Pool2D(.max, kernel: [kernel, kernel], stride: [stride, stride],
                              paddingLow: pads.map(\.low), paddingHigh: pads.map(\.high))
        pools[spatial] = made
        return made
    }

    package func backward(_ dy: Tensor, needsInputGradient: Bool) throws -> Tensor? {
        guard let pool = used else {
            throw NeuralNetError.invalidArgument("SameMaxPool.backward called without a training-mode forward before it")
        }
        used = nil
        return try pool.backward(dy, needsInputGradient: needsInputGradient)
    }
}
