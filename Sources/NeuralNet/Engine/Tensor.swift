import CDNNL

/// A tensor in oneDNN memory: logical shape plus a layout and an element type (f32 unless a
/// `Precision` made it bf16, or u8/s8 with a quantization `scale`).
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
    /// For u8/s8 tensors: the real value of one step, so a stored integer q means q·scale.
    /// It travels with the data, so the next int8 layer knows its input's scale and a
    /// conversion to f32 knows how to dequantize.
    var scale: Float?

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

    /// A tensor of layout `md` with every byte zero: 0 in any element type, padding included.
    convenience init(zeros md: MemoryDesc) throws {
        try self.init(md: md)
        rawPointer.initializeMemory(as: UInt8.self, repeating: 0, count: md.byteSize)
    }

    public var count: Int { shape.reduce(1, *) }

    /// Elements in the buffer, padding of blocked layouts included.
    var physicalCount: Int { md.byteSize / MemoryLayout<Float>.stride }

    var rawPointer: UnsafeMutableRawPointer {
        var handle: UnsafeMutableRawPointer?
        dnnl_memory_get_data_handle(memory, &handle)
        return handle!
    }

    /// The element type, such as `dnnl_f32` or `dnnl_u8`.
    var dataType: dnnl_data_type_t { md.data_type }

    /// The buffer as floats, in the tensor's own layout (f32 tensors only).
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
    /// reordered copy. A quantized tensor converted to a floating type is dequantized (its
    /// values times `scale`); to another integer layout it keeps its scale. A floating tensor
    /// becomes an integer one only through `quantized(to:scale:)`, which says the scale.
    func converted(to target: MemoryDesc) throws -> Tensor {
        if md.isEqual(to: target) { return self }
        guard target.dimensions == shape else {
            throw NeuralNetError.invalidShape("cannot lay out a \(shape) tensor as \(target.dimensions)")
        }
        let out = try Tensor(md: target)
        switch (scale, target.isQuantized) {
        case (nil, false): try reorder(from: self, to: out)
        case (let scale?, false): try reorder(from: self, to: out, scale: scale)
        case (let scale?, true):
            try reorder(from: self, to: out)
            out.scale = scale
        case (nil, true):
            throw NeuralNetError.invalidArgument("a \(md.key) tensor needs a quantization scale to become \(target.key)")
        }
        return out
    }

    /// This floating tensor quantized into `target` (u8 or s8): q = round(x / scale), saturated.
    func quantized(to target: MemoryDesc, scale: Float) throws -> Tensor {
        guard self.scale == nil, target.isQuantized, scale > 0, scale.isFinite else {
            throw NeuralNetError.invalidArgument("cannot quantize a \(md.key) tensor to \(target.key) with scale \(scale)")
        }
        let out = try Tensor(md: target)
        try reorder(from: self, to: out, scale: 1 / scale)
        out.scale = scale
        return out
    }

    /// The same buffer under another descriptor of the same size (a u8 destination over an
    /// s8 residual's bytes).
    func reinterpreted(as other: MemoryDesc) throws -> Tensor {
        guard other.byteSize == md.byteSize else {
            throw NeuralNetError.invalidShape("cannot view \(md.key) as \(other.key): sizes differ")
        }
        return try Tensor(viewing: self, md: other)
    }

    /// A plain tensor of another shape over the same buffer (a plain copy first where the
    /// layout is blocked), of the same element type and scale.
    public func reshaped(_ newShape: [Int]) throws -> Tensor {
        guard newShape.reduce(1, *) == count else {
            throw NeuralNetError.invalidShape("cannot reshape \(shape) to \(newShape)")
        }
        let plain = try converted(to: .plain(shape, dataType))
        let view = try Tensor(viewing: plain, md: .plain(newShape, dataType))
        view.scale = plain.scale
        return view
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

/// Copies `source` into `destination`, converting layout and element type (times `scale`,
/// rounded and saturated for integer destinations); both must have the same dimensions.
func reorder(from source: Tensor, to destination: Tensor, scale: Float = 1) throws {
    let key = "reorder|\(source.md.key)|\(destination.md.key)|\(scale.bitPattern)"
    let primitive = try Engine.shared.primitive(key) {
        var pd: dnnl_primitive_desc_t?
        var src = source.md
        var dst = destination.md
        let engine = Engine.shared.engine
        var attr: dnnl_primitive_attr_t?
        if scale != 1 {
            try check(dnnl_primitive_attr_create(&attr), "primitive_attr_create")
            try check(dnnl_primitive_attr_set_output_scales(attr, 1, 0, [scale]), "primitive_attr_set_output_scales(reorder)")
        }
        defer { if let attr { dnnl_primitive_attr_destroy(attr) } }
        try check(dnnl_reorder_primitive_desc_create(&pd, &src, engine, &dst, engine, attr), "reorder_primitive_desc_create")
        return try Primitive("reorder", descriptor: pd!)
    }
    try primitive.execute([(CDNNL_ARG_FROM, source), (CDNNL_ARG_TO, destination)])
}
