import CDNNL

/// Concatenation along channels (DenseNet's dense connections, Inception's branches). The
/// backward pass hands each input its slice of the output gradient.
public final class Concat {
    private var saved: (inputs: [MemoryDesc], offsets: [Int])?

    public init() {}

    public func forward(_ inputs: [Tensor], mode: Mode) throws -> Tensor {
        guard let first = inputs.first else { throw NeuralNetError.invalidArgument("Concat needs at least one input") }
        for x in inputs where x.shape.count != first.shape.count || x.shape[0] != first.shape[0]
            || x.shape.dropFirst(2) != first.shape.dropFirst(2) {
            throw NeuralNetError.invalidShape("Concat inputs must agree on every axis but channels: \(first.shape) vs \(x.shape)")
        }
        // oneDNN concatenates one element type: a bf16 image feature map joined with FP32
        // metadata features (bf16 training) takes the first input's.
        let originals = inputs.map(\.md)
        let inputs = try inputs.map { $0.dataType == first.dataType ? $0 : try $0.converted(to: $0.md.retyped(first.dataType)) }
        let key = "concat|" + inputs.map(\.md.key).joined(separator: "|")
        let primitive = try Engine.shared.primitive(key) {
            var pd: dnnl_primitive_desc_t?
            var sources = inputs.map(\.md)
            try check(dnnl_concat_primitive_desc_create(&pd, nil, Int32(inputs.count), 1, &sources, nil, Engine.shared.engine),
                      "concat_primitive_desc_create")
            return try Primitive("concat", descriptor: pd!)
        }
        let y = try Tensor(md: primitive.md(dnnl_query_dst_md))
        var args = inputs.enumerated().map { (CDNNL_ARG_MULTIPLE_SRC + Int32($0.offset), $0.element) }
        args.append((CDNNL_ARG_DST, y))
        try primitive.execute(args)
        if mode == .training {
            let channels = inputs.map { $0.shape[1] }
            saved = (originals, channels.indices.map { channels[..<$0].reduce(0, +) })
        } else {
            saved = nil
        }
        return y
    }

    /// The slice of `dy` that belongs to each input, in that input's layout.
    public func backward(_ dy: Tensor) throws -> [Tensor] {
        let s = try NeuralNet.saved(saved, "Concat")
        saved = nil
        // A sub-tensor of a blocked layout must start on a block boundary; otherwise slice the
        // plain layout.
        var source = dy
        return try zip(s.inputs, s.offsets).map { md, offset in
            let dims = md.dimensions
            var position = [Int](repeating: 0, count: dims.count)
            position[1] = offset
            let slice: Tensor
            if let view = try? source.subTensor(dims: dims, offsets: position) {
                slice = view
            } else {
                source = try source.converted(to: .plain(dy.shape, dy.dataType))
                slice = try source.subTensor(dims: dims, offsets: position)
            }
            let dx = try Tensor(md: md)
            try reorder(from: slice, to: dx)
            return dx
        }
    }
}
