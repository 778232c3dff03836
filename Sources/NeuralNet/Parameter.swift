/// A named tensor of a layer's state: a trainable weight, or a buffer such as BatchNorm's
/// running mean that is saved with the weights but never receives a gradient.
///
/// Values are kept plain (torchvision's layout: OIHW for convolutions, [out, in] for linear
/// layers), so weight files, optimizers and checks read them directly; layers pack them into
/// oneDNN's preferred layout when they run, and re-pack only when `version` changes.
public final class Parameter {
    public enum Kind: Sendable {
        /// Learned by gradient descent and counted in the parameter count.
        case weight
        /// Saved and loaded, but updated by the layer itself (running statistics).
        case buffer
        /// An integer counter saved as I64 (`num_batches_tracked`).
        case counter
    }

    public let kind: Kind
    /// The shape under which the state dict stores it (`[]` for a scalar counter).
    public let shape: [Int]
    public let value: Tensor
    /// Set by the owning layer's backward pass (overwritten, not accumulated).
    public internal(set) var grad: Tensor?
    /// A frozen weight keeps its value and gets no gradient.
    public var frozen = false
    /// Bumped on every change of `value`, so packed copies know when to refresh.
    public private(set) var version = 0

    public init(shape: [Int], kind: Kind = .weight, values: [Float]? = nil) throws {
        self.kind = kind
        self.shape = shape
        let storageShape = shape.isEmpty ? [1] : shape
        if let values {
            value = try Tensor(shape: storageShape, values: values)
        } else {
            value = try Tensor(shape: storageShape, repeating: 0)
        }
    }

    public var count: Int { shape.reduce(1, *) }

    public var trainable: Bool { kind == .weight && !frozen }

    /// The values in row-major order.
    public var values: [Float] {
        Array(UnsafeBufferPointer(start: value.pointer, count: count))
    }

    /// Direct access to the plain values; call `markUpdated()` after writing.
    public var storage: UnsafeMutablePointer<Float> { value.pointer }

    /// Replaces all values (weight loading, tests).
    public func assign(_ newValues: [Float]) throws {
        guard newValues.count == count else {
            throw NeuralNetError.invalidShape("parameter of shape \(shape) needs \(count) values, got \(newValues.count)")
        }
        newValues.withUnsafeBufferPointer { storage.update(from: $0.baseAddress!, count: count) }
        markUpdated()
    }

    public func markUpdated() { version &+= 1 }

    /// Direct access to the plain gradient, nil before a backward pass has set one: data-parallel
    /// training replaces it in place by its mean over the ranks.
    public var gradStorage: UnsafeMutablePointer<Float>? { grad?.pointer }

    /// The gradient in row-major order (zeros when no backward pass has set it).
    public var gradValues: [Float] {
        guard let grad else { return [Float](repeating: 0, count: count) }
        return Array(UnsafeBufferPointer(start: grad.pointer, count: count))
    }
}
