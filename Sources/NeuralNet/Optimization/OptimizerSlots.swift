/// The per-parameter buffers of an optimizer (momentum, Adam's moments and step count), kept
/// under the keys its checkpoint state uses and updated in place: copying a 100 MB array per
/// step would cost more than the update itself.
final class OptimizerSlots {
    /// Slots with one value per element of the parameter (`momentum`, `exp_avg`).
    let elementwise: [String]
    /// Slots with one value per parameter (`step`).
    let scalar: [String]
    private var buffers: [String: UnsafeMutableBufferPointer<Float>] = [:]

    init(elementwise: [String], scalar: [String] = []) {
        self.elementwise = elementwise
        self.scalar = scalar
    }

    deinit { buffers.values.forEach { $0.deallocate() } }

    /// The buffer of `slot` for the parameter called `name`, zero-filled on first use (PyTorch's
    /// lazily created state: a zero momentum or moment gives the same first step as none).
    func buffer(_ slot: String, of name: String, count: Int) -> UnsafeMutableBufferPointer<Float> {
        let key = name + "/" + slot
        if let buffer = buffers[key] {
            precondition(buffer.count == count, "optimizer state \(key) has \(buffer.count) values, the parameter \(count)")
            return buffer
        }
        let buffer = UnsafeMutableBufferPointer<Float>.allocate(capacity: count)
        buffer.initialize(repeating: 0)
        buffers[key] = buffer
        return buffer
    }

    func state(_ parameters: [(name: String, parameter: Parameter)]) -> [String: [Float]] {
        var state: [String: [Float]] = [:]
        for (name, _) in parameters {
            for slot in elementwise + scalar {
                let key = name + "/" + slot
                if let buffer = buffers[key] { state[key] = Array(buffer) }
            }
        }
        return state
    }

    func restore(_ state: [String: [Float]], for parameters: [(name: String, parameter: Parameter)]) throws {
        var expectedCounts: [String: Int] = [:]
        for (name, p) in parameters {
            for slot in elementwise { expectedCounts[name + "/" + slot] = p.count }
            for slot in scalar { expectedCounts[name + "/" + slot] = 1 }
        }
        for (key, values) in state {
            guard let count = expectedCounts[key] else {
                throw NeuralNetError.invalidArgument("optimizer state \(key) belongs to no slot of the given parameters")
            }
            guard values.count == count else {
                throw NeuralNetError.invalidArgument("optimizer state \(key) has \(values.count) values, expected \(count)")
            }
        }
        buffers.values.forEach { $0.deallocate() }
        buffers = state.mapValues { values in
            let buffer = UnsafeMutableBufferPointer<Float>.allocate(capacity: values.count)
            _ = buffer.initialize(from: values)
            return buffer
        }
    }
}
