import Models
import NeuralNet

// How each architecture's blocks wire their layers, mirroring their inference `forward`.
// A new block needs one such extension; until it has one, export refuses it by name.

extension Bottleneck: ONNXExportable {
    func exportONNX(_ x: ONNXValue, into graph: ONNXGraph) throws -> ONNXValue {
        let shortcut = try downsample.map { try graph.add($0, x) } ?? x
        let branch = try graph.add(spatial, graph.add(reduce, x))
        return try expand.exportONNX(branch, adding: shortcut, into: graph)
    }
}

extension MBConv: ONNXExportable {
    func exportONNX(_ x: ONNXValue, into graph: ONNXGraph) throws -> ONNXValue {
        let expanded = try expand.map { try graph.add($0, x) } ?? x
        let spread = try graph.add(depthwise, expanded)
        return try project.exportONNX(spread, adding: residual ? x : nil, into: graph)
    }
}

extension DenseLayer: ONNXExportable {
    func exportONNX(_ x: ONNXValue, into graph: ONNXGraph) throws -> ONNXValue {
        let preactivated = try graph.add(preactivation, graph.add(norm1, named: "norm1", x))
        let new = try graph.add(conv2, named: "conv2", graph.add(bottleneck, preactivated))
        return try graph.concat([x, new])
    }
}

extension PreActBottleneck: ONNXExportable {
    func exportONNX(_ x: ONNXValue, into graph: ONNXGraph) throws -> ONNXValue {
        let preactivated = try graph.add(preactivation, graph.add(norm1, named: "norm1", x))
        let shortcut = try downsample.map { try graph.add($0, named: "downsample.conv", preactivated) }
            ?? subsample.map { try graph.add($0, named: "downsample.pool", x) } ?? x
        let branch = try graph.add(expand, named: "conv3", graph.add(spatial, graph.add(reduce, preactivated)))
        return try graph.sum(branch, shortcut)
    }
}

extension Branches: ONNXExportable {
    func exportONNX(_ x: ONNXValue, into graph: ONNXGraph) throws -> ONNXValue {
        try graph.concat(branches.map { try graph.add($0.layer, named: $0.name, x) })
    }
}

extension XceptionBlock: ONNXExportable {
    func exportONNX(_ x: ONNXValue, into graph: ONNXGraph) throws -> ONNXValue {
        let residual = try graph.add(rep, named: "rep", x)
        return try graph.sum(residual, skip.map { try graph.add($0, x) } ?? x)
    }
}

extension SeparableConvBN: ONNXExportable {
    func exportONNX(_ x: ONNXValue, into graph: ONNXGraph) throws -> ONNXValue {
        try graph.add(pointwise, graph.add(depthwise, named: convName + ".conv1", x))
    }
}

extension SameMaxPool: ONNXExportable {
    /// The padding TensorFlow's "SAME" gives this input size, fixed in the graph: the exported
    /// model takes the size it was exported for, as ours computes it.
    func exportONNX(_ x: ONNXValue, into graph: ONNXGraph) throws -> ONNXValue {
        guard x.shape.count == 3 else { throw ONNXExportError(layer: graph.path, "SameMaxPool needs [N, C, H, W], got [N, \(x.shape)]") }
        return try graph.add(pool(forInput: Array(x.shape[1...])), x)
    }
}

extension MetadataFusionHead: ONNXExportable {
    /// head([features, branch(metadata)]), the metadata being the graph's second input.
    func exportONNX(_ x: ONNXValue, into graph: ONNXGraph) throws -> ONNXValue {
        guard usesMetadata else {
            throw ONNXExportError(layer: graph.path, "the model is set to ignore its metadata (the image stage of "
                                  + "two-stage training), which is not what a deployed fusion model computes")
        }
        guard let metadata = graph.metadata, metadata.shape == [fusion.inputs] else {
            throw ONNXExportError(layer: graph.path, "the fusion head needs the graph's metadata input [N, \(fusion.inputs)]")
        }
        let encoded = try graph.add(branch, named: MetadataFusion.branchName, metadata)
        return try graph.add(head, named: headName, graph.concat([x, encoded]))
    }
}
