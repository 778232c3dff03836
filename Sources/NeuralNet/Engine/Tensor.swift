import CDNNL

/// An FP32 tensor in oneDNN memory: logical shape plus a layout.
///
/// Activations stay in whatever layout the producing primitive chose (`nChw8c` on AVX2) and
/// are converted only where a consumer needs another one; `toArray()` and `init(shape:values:)`
/// are the edges where data enters and leaves in plain row-major order.
public final class Tensor {
    public let shape: [Int]
    let md: MemoryDesc
    let memory: dnnl_memory_t
    /// For views: the tensor that owns the buffer, kept alive as long as the view is.
    private let base: Tensor?
    /// For owners: the pooled buffer, returned to `BufferPool` on deinit.
    private let buffer: (pointer: UnsafeMutableRawPointer, bytes: Int)?

    /// Allocates a tensor with the given layout; its contents are unspecified.
    init(md: MemoryDesc) throws {
        var md = md
        let buffer = BufferPool.shared.take(md.byteSize)
        var memory: dnnl_memory_t?
        let status = dnnl_memory_create(&memory, &md, Engine.shared.engine, buffer.pointer)
        guard status == dnnl_success else {
            BufferPool.shared.give(buffer.pointer, bytes: buffer.bytes)
            throw DNNLError(status: status, call: "memory_create(\(md.key))")
        }
        self.md = md
        self.memory = memory!
        self.shape = md.dimensions
        self.base = nil
        self.buffer = buffer
    }

    /// A second descriptor over another tensor's buffer (a reshape of plain data, or a slice).
    private init(viewing base: Tensor, md: MemoryDesc) throws {
        var md = md
        var memory: dnnl_memory_t?
        try check(dnnl_memory_create(&memory, &md, Engine.shared.engine, base.rawPointer),
                  "memory_create(view \(md.key))")
        self.md = md
        self.memory = memory!
        self.shape = md.dimensions
        self.base = base
        self.buffer = nil
    }

    deinit {
        dnnl_memory_destroy(memory)
        if let buffer { BufferPool.shared.give(buffer.pointer, bytes: buffer.bytes) }
    }

    /// A plain (row-major) tensor holding `values`.
    public convenience init(shape: [Int], values: [Float]) throws {
        let count = shape.reduce(1, *)
        guard values.count == count else {
            throw NeuralNetError.invalidShape("tensor of shape \(shape) needs \(count) values, got \(values.count)")
        }
        try self.init(md: .plain(shape))
        values.withUnsafeBufferPointer { src in
            pointer.update(from: src.baseAddress!, count: count)
        }
    }

    /// A plain tensor filled with `value`.
    public convenience init(shape: [Int], repeating value: Float) throws {
        try self.init(md: .plain(shape))
        pointer.update(repeating: value, count: physicalCount)
    }

    public var count: Int { shape.reduce(1, *) }

    /// Elements in the buffer, padding of blocked layouts included.
    var physicalCount: Int { md.byteSize / MemoryLayout<Float>.stride }

    var rawPointer: UnsafeMutableRawPointer {
        var handle: UnsafeMutableRawPointer?
        dnnl_memory_get_data_handle(memory, &handle)
        return handle!
    }

    /// The buffer as floats, in the tensor's own layout.
    var pointer: UnsafeMutablePointer<Float> { rawPointer.assumingMemoryBound(to: Float.self) }

    /// Multiplies every element by `factor` in place, in any layout (padding stays zero): a
    /// data-parallel rank's share of a weighted loss gradient.
    public func scale(by factor: Float) {
        for i in 0..<physicalCount { pointer[i] *= factor }
    }

    public var isPlain: Bool { md.isPlain }

    /// A short description of the layout, such as `f32::blocked:aBcd8b:f0 1x64x56x56`.
    public var layout: String { md.key }

    /// The elements in row-major order of `shape`, whatever the storage layout.
    public func toArray() throws -> [Float] {
        let plain = try converted(to: .plain(shape))
        return Array(UnsafeBufferPointer(start: plain.pointer, count: count))
    }

    /// This tensor in layout `target`: itself when the layouts already agree, otherwise a
    /// reordered copy.
    func converted(to target: MemoryDesc) throws -> Tensor {
        if md.isEqual(to: target) { return self }
        guard target.dimensions == shape else {
            throw NeuralNetError.invalidShape("cannot lay out a \(shape) tensor as \(target.dimensions)")
        }
        let out = try Tensor(md: target)
        try reorder(from: self, to: out)
        return out
    }

    /// A plain tensor of another shape over the same buffer; only for plain tensors.
    public func reshaped(_ newShape: [Int]) throws -> Tensor {
        guard newShape.reduce(1, *) == count else {
            throw NeuralNetError.invalidShape("cannot reshape \(shape) to \(newShape)")
        }
        let plain = try converted(to: .plain(shape))
        return try Tensor(viewing: plain, md: .plain(newShape))
    }

    /// A view over a region (`dims` at `offsets`) of this tensor, in this tensor's layout.
    func subTensor(dims: [Int], offsets: [Int]) throws -> Tensor {
        var sub = MemoryDesc()
        var parent = md
        try check(dnnl_memory_desc_init_submemory(&sub, &parent, dnnlDims(dims), dnnlDims(offsets)),
                  "memory_desc_init_submemory(\(dims) at \(offsets) of \(md.key))")
        return try Tensor(viewing: self, md: sub)
    }
}

/// Copies `source` into `destination`, converting layout; both must have the same dimensions.
func reorder(from source: Tensor, to destination: Tensor) throws {
    let key = "reorder|\(source.md.key)|\(destination.md.key)"
    let primitive = try Engine.shared.primitive(key) {
        var pd: dnnl_primitive_desc_t?
        var src = source.md
        var dst = destination.md
        let engine = Engine.shared.engine
        try check(dnnl_reorder_primitive_desc_create(&pd, &src, engine, &dst, engine, nil), "reorder_primitive_desc_create")
        return try Primitive("reorder", descriptor: pd!)
    }
    try primitive.execute([(CDNNL_ARG_FROM, source), (CDNNL_ARG_TO, destination)])
}
