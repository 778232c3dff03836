import NeuralNet

// How each NeuralNet layer's inference forward is written in ONNX operators. Each says
// exactly what the oneDNN primitive computes; where ONNX has no identical operator, the
// layer is refused rather than approximated.

extension Conv2D: ONNXExportable {
    func exportONNX(_ x: ONNXValue, into graph: ONNXGraph) throws -> ONNXValue {
        try graph.convolution(self, x, weight: weight.values, bias: bias?.values)
    }
}

extension ConvBN: ONNXExportable {
    func exportONNX(_ x: ONNXValue, into graph: ONNXGraph) throws -> ONNXValue {
        try exportONNX(x, adding: nil, into: graph)
    }

    /// activation(conv(x) + residual), with BatchNorm folded into the convolution's weight
    /// and bias exactly as inference folds it, so both runtimes use the same numbers.
    func exportONNX(_ x: ONNXValue, adding residual: ONNXValue?, into graph: ONNXGraph) throws -> ONNXValue {
        let (weight, bias) = try inferenceParameters()
        return try graph.scoped(convName) {
            var y = try graph.convolution(conv, x, weight: weight, bias: bias)
            if let residual { y = try graph.sum(y, residual) }
            return try activation.map { try graph.add($0, y) } ?? y
        }
    }
}

extension Activation: ONNXExportable {
    func exportONNX(_ x: ONNXValue, into graph: ONNXGraph) throws -> ONNXValue {
        switch kind {
        case .relu:
            return graph.node("Relu", [x.name], shape: x.shape)
        case .relu6:
            // Clip takes its bounds as scalar inputs since opset 11.
            let low = graph.constant("min", shape: [], floats: [0])
            let high = graph.constant("max", shape: [], floats: [6])
            return graph.node("Clip", [x.name, low, high], shape: x.shape)
        case .sigmoid:
            return graph.node("Sigmoid", [x.name], shape: x.shape)
        case .tanh:
            return graph.node("Tanh", [x.name], shape: x.shape)
        case .elu:
            return graph.node("Elu", [x.name], [("alpha", .float(1))], shape: x.shape)
        case .gelu:
            // x · Φ(x) = x · (1 + erf(x / √2)) / 2, the exact (erf) GELU; ONNX's own Gelu
            // operator arrives only in opset 20.
            let scaled = graph.node("Div", [x.name, graph.constant("sqrt2", shape: [], floats: [Float(2).squareRoot()])], shape: x.shape)
            let erf = graph.node("Erf", [scaled.name], shape: x.shape)
            let cdf = graph.node("Add", [erf.name, graph.constant("one", shape: [], floats: [1])], shape: x.shape)
            let half = graph.node("Mul", [x.name, graph.constant("half", shape: [], floats: [0.5])], shape: x.shape)
            return graph.node("Mul", [half.name, cdf.name], shape: x.shape)
        case .swish:
            let gate = graph.node("Sigmoid", [x.name], shape: x.shape)
            return graph.node("Mul", [x.name, gate.name], shape: x.shape)
        }
    }
}

extension BatchNorm: ONNXExportable {
    /// Inference normalisation with the running statistics, as oneDNN's global-stats mode:
    /// γ·(x − μ)/√(σ² + ε) + β, on `[N, C]` or `[N, C, H, W]`.
    func exportONNX(_ x: ONNXValue, into graph: ONNXGraph) throws -> ONNXValue {
        guard x.shape.first == channels else {
            throw ONNXExportError(layer: graph.path, "BatchNorm(\(channels)) gets an input of shape [N, \(x.shape)]")
        }
        let gamma = scaled ? weight.values : [Float](repeating: 1, count: channels)
        let inputs = [x.name, graph.constant("weight", shape: [channels], floats: gamma),
                      graph.constant("bias", shape: [channels], floats: bias.values),
                      graph.constant("running_mean", shape: [channels], floats: runningMean.values),
                      graph.constant("running_var", shape: [channels], floats: runningVar.values)]
        return graph.node("BatchNormalization", inputs, [("epsilon", .float(epsilon))], shape: x.shape)
    }
}

extension Pool2D: ONNXExportable {
    /// oneDNN's pooling: output ⌊(size + padding − kernel) / stride⌋ + 1 (ONNX's ceil_mode 0),
    /// max padding never winning (ONNX MaxPool's), average padding counted or not
    /// (`count_include_pad`).
    func exportONNX(_ x: ONNXValue, into graph: ONNXGraph) throws -> ONNXValue {
        try exportONNX(x, extraPadding: nil, into: graph)
    }

    /// The pool with `extraPadding` (top, left, bottom, right) added to its own: how a
    /// preceding zero padding joins a max pool.
    func exportONNX(_ x: ONNXValue, extraPadding: [Int]?, into graph: ONNXGraph) throws -> ONNXValue {
        let extra = extraPadding ?? [0, 0, 0, 0]
        let pads = zip(paddingLow + paddingHigh, extra).map { $0 + $1 }
        guard zip(pads, kernel + kernel).allSatisfy({ $0 < $1 }) else {
            throw ONNXExportError(layer: graph.path, "padding \(pads) is not smaller than the kernel \(kernel), "
                                  + "which ONNX pooling requires")
        }
        let padded = [x.shape[0], x.shape[1] + extra[0] + extra[2], x.shape[2] + extra[1] + extra[3]]
        let shape = Array(try outputShape(for: [1] + padded).dropFirst())
        var attributes: [(name: String, value: ONNXProto.AttributeValue)] =
            [("kernel_shape", .ints(kernel)), ("strides", .ints(stride)), ("pads", .ints(pads))]
        switch kind {
        case .max:
            return graph.node("MaxPool", [x.name], attributes, shape: shape)
        case .average(let countIncludesPadding):
            attributes.append(("count_include_pad", .int(countIncludesPadding ? 1 : 0)))
            return graph.node("AveragePool", [x.name], attributes, shape: shape)
        }
    }
}

extension GlobalPool: ONNXExportable {
    func exportONNX(_ x: ONNXValue, into graph: ONNXGraph) throws -> ONNXValue {
        guard x.shape.count == 3 else { throw ONNXExportError(layer: graph.path, "GlobalPool needs [N, C, H, W], got [N, \(x.shape)]") }
        let pooled = graph.node(kind == .max ? "GlobalMaxPool" : "GlobalAveragePool", [x.name], shape: [x.shape[0], 1, 1])
        return graph.node("Flatten", [pooled.name], [("axis", .int(1))], shape: [x.shape[0]])
    }
}

extension Linear: ONNXExportable {
    /// x·Wᵀ + b: Gemm with the `[out, in]` weight transposed.
    func exportONNX(_ x: ONNXValue, into graph: ONNXGraph) throws -> ONNXValue {
        guard x.shape == [inFeatures] else {
            throw ONNXExportError(layer: graph.path, "Linear(\(inFeatures)→\(outFeatures)) gets [N, \(x.shape)]")
        }
        var inputs = [x.name, graph.constant("weight", shape: [outFeatures, inFeatures], floats: weight.values)]
        if let bias { inputs.append(graph.constant("bias", shape: [outFeatures], floats: bias.values)) }
        return graph.node("Gemm", inputs, [("transB", .int(1))], shape: [outFeatures])
    }
}

extension Dropout: ONNXExportable {
    /// The identity at inference: no node.
    func exportONNX(_ x: ONNXValue, into graph: ONNXGraph) throws -> ONNXValue { x }
}

extension Flatten: ONNXExportable {
    /// (C, H, W) order, which is ONNX Flatten's row-major order.
    func exportONNX(_ x: ONNXValue, into graph: ONNXGraph) throws -> ONNXValue {
        guard x.shape.count == 3 else { throw ONNXExportError(layer: graph.path, "Flatten needs [N, C, H, W], got [N, \(x.shape)]") }
        return graph.node("Flatten", [x.name], [("axis", .int(1))], shape: [x.shape.reduce(1, *)])
    }
}

extension ZeroPad2D: ONNXExportable {
    func exportONNX(_ x: ONNXValue, into graph: ONNXGraph) throws -> ONNXValue {
        guard x.shape.count == 3 else { throw ONNXExportError(layer: graph.path, "ZeroPad2D needs [N, C, H, W], got [N, \(x.shape)]") }
        // Pads are begin values for every axis, then end values: N, C, H, W.
        let pads = graph.constant("pads", shape: [8], int64s: [0, 0, top, left, 0, 0, bottom, right].map(Int64.init))
        return graph.node("Pad", [x.name, pads], [("mode", .string("constant"))],
                          shape: [x.shape[0], x.shape[1] + top + bottom, x.shape[2] + left + right])
    }

    /// Zero padding then a max pool, written as one max pool whose padding never wins, and an
    /// elementwise maximum with 0 at the windows that reach into the zeros. The plain
    /// Pad → MaxPool pair would be exact too, but ONNX Runtime's and ONNX Optimizer's
    /// Pad-into-pool fusions fold the zeros into the pool's padding, where they no longer
    /// win a window of negative values: the exported file would compute something else.
    func exportONNX(_ x: ONNXValue, thenMaxPool pool: Pool2D, into graph: ONNXGraph) throws -> ONNXValue {
        guard x.shape.count == 3, pool.kind == .max else {
            throw ONNXExportError(layer: graph.path, "zero padding joins only a max pool of [N, C, H, W]")
        }
        let pooled = try pool.exportONNX(x, extraPadding: [top, left, bottom, right], into: graph)
        let rows = reachesPadding(size: x.shape[1], before: top, after: bottom, pool: pool, axis: 0, outputs: pooled.shape[1])
        let columns = reachesPadding(size: x.shape[2], before: left, after: right, pool: pool, axis: 1, outputs: pooled.shape[2])
        let mask = rows.flatMap { row in columns.map { column in row || column ? Float(0) : -Float.infinity } }
        let floor = graph.constant("zero_padding", shape: [1, 1, rows.count, columns.count], floats: mask)
        return graph.node("Max", [pooled.name, floor], shape: pooled.shape)
    }

    /// For each output position along `axis`, whether its window holds one of the zeros,
    /// counting positions in the zero-padded input (the pool's own padding lies outside it).
    private func reachesPadding(size: Int, before: Int, after: Int, pool: Pool2D, axis: Int, outputs: Int) -> [Bool] {
        let padded = size + before + after
        return (0..<outputs).map { index in
            let start = index * pool.stride[axis] - pool.paddingLow[axis]
            let window = max(start, 0)..<min(start + pool.kernel[axis], padded)
            return window.contains { $0 < before || $0 >= before + size }
        }
    }
}

extension Sequential: ONNXExportable {
    func exportONNX(_ x: ONNXValue, into graph: ONNXGraph) throws -> ONNXValue {
        var y = x
        var index = 0
        while index < children.count {
            let (name, layer) = children[index]
            if let pad = layer as? ZeroPad2D, index + 1 < children.count, let pool = children[index + 1].layer as? Pool2D,
               pool.kind == .max {
                y = try graph.scoped(children[index + 1].name.isEmpty ? "maxpool" : children[index + 1].name) {
                    try pad.exportONNX(y, thenMaxPool: pool, into: graph)
                }
                index += 2
            } else {
                y = try graph.add(layer, named: name, y)
                index += 1
            }
        }
        return y
    }
}

extension ONNXGraph {
    /// A Conv node for `conv`'s geometry with the given weight and bias (its own, or with
    /// BatchNorm folded in). ONNX pads are all begin values, then all end values.
    func convolution(_ conv: Conv2D, _ x: ONNXValue, weight: [Float], bias: [Float]?) throws -> ONNXValue {
        let shape = Array(try conv.outputShape(for: [1] + x.shape).dropFirst())
        var inputs = [x.name, constant("weight", shape: conv.weight.shape, floats: weight)]
        if let bias { inputs.append(constant("bias", shape: [conv.outChannels], floats: bias)) }
        return node("Conv", inputs, [("kernel_shape", .ints(conv.kernel)), ("strides", .ints(conv.stride)),
                                     ("dilations", .ints(conv.dilation)), ("pads", .ints(conv.paddingLow + conv.paddingHigh)),
                                     ("group", .int(conv.groups))], shape: shape)
    }

    /// a + b, of equal shapes (a residual connection).
    func sum(_ a: ONNXValue, _ b: ONNXValue) throws -> ONNXValue {
        guard a.shape == b.shape else { throw ONNXExportError(layer: path, "adds [N, \(a.shape)] and [N, \(b.shape)]") }
        return node("Add", [a.name, b.name], shape: a.shape)
    }

    /// Channel concatenation; every other axis must agree.
    func concat(_ values: [ONNXValue]) throws -> ONNXValue {
        guard let first = values.first, values.allSatisfy({ $0.shape.dropFirst() == first.shape.dropFirst() }) else {
            throw ONNXExportError(layer: path, "concatenates \(values.map(\.shape)) along channels")
        }
        let channels = values.reduce(0) { $0 + $1.shape[0] }
        return node("Concat", values.map(\.name), [("axis", .int(1))], shape: [channels] + first.shape.dropFirst())
    }
}
