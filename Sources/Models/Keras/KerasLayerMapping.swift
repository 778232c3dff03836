/// Where the weights of a Keras Applications model go in our state dict: for every Keras layer
/// that holds weights, in Keras's order, its name and our parameter name for each of its
/// arrays, with how the array is laid out. Weight import is this table plus the layout
/// conversions; no architecture code is involved.
public struct KerasLayer: Sendable, Equatable {
    public let name: String
    public let weights: [KerasWeight]

    public init(_ name: String, _ weights: [KerasWeight]) {
        self.name = name
        self.weights = weights
    }

    /// `Conv2D`: kernel, then bias when the layer has one.
    public static func conv(_ name: String, _ ours: String, bias: Bool) -> KerasLayer {
        KerasLayer(name, [KerasWeight(ours + ".weight", .convKernel)] + (bias ? [KerasWeight(ours + ".bias", .vector)] : []))
    }

    /// `BatchNormalization`: γ (unless `scale: false`, as in InceptionV3), β, moving mean,
    /// moving variance, in Keras's order.
    public static func batchNorm(_ name: String, _ ours: String, scale: Bool = true) -> KerasLayer {
        KerasLayer(name, (scale ? ["weight"] : []).map { KerasWeight(ours + "." + $0, .vector) }
                   + ["bias", "running_mean", "running_var"].map { KerasWeight(ours + "." + $0, .vector) })
    }

    /// `SeparableConv2D` without bias: the depthwise kernel, then the 1×1 pointwise kernel.
    public static func separableConv(_ name: String, depthwise: String, pointwise: String) -> KerasLayer {
        KerasLayer(name, [KerasWeight(depthwise + ".weight", .depthwiseKernel),
                          KerasWeight(pointwise + ".weight", .convKernel)])
    }

    /// `Dense`: kernel and bias; `layout` says how the kernel's rows are ordered.
    public static func dense(_ name: String, _ ours: String, layout: KerasWeightLayout = .denseKernel) -> KerasLayer {
        KerasLayer(name, [KerasWeight(ours + ".weight", layout), KerasWeight(ours + ".bias", .vector)])
    }
}

/// One weight array of a Keras layer and the parameter it becomes.
public struct KerasWeight: Sendable, Equatable {
    public let name: String
    public let layout: KerasWeightLayout

    public init(_ name: String, _ layout: KerasWeightLayout) {
        self.name = name
        self.layout = layout
    }
}

/// How a Keras array relates to ours (torchvision's layouts).
public enum KerasWeightLayout: Sendable, Equatable {
    /// The same values in the same order: biases and BatchNorm vectors.
    case vector
    /// `Conv2D` kernel (kh, kw, in, out), ours `[out, in, kh, kw]`.
    case convKernel
    /// `DepthwiseConv2D` / `SeparableConv2D` depthwise kernel (kh, kw, in, multiplier), ours
    /// `[in·multiplier, 1, kh, kw]` with output channel c·multiplier + m (oneDNN's grouped
    /// layout, one group per input channel). Multiplier 1 is all our architectures use.
    case depthwiseKernel
    /// `Dense` kernel (in, out), ours `[out, in]`.
    case denseKernel
    /// A `Dense` kernel right after Keras's `Flatten` of an (H, W, C) feature map: its rows
    /// run over (h, w, c) with c fastest, while our `Flatten` (torchvision's) runs over
    /// (c, h, w). Keras row h·W·C + w·C + c is our column c·H·W + h·W + w.
    case flattenedDenseKernel(height: Int, width: Int, channels: Int)

    /// The Keras shape of an array that has shape `ours` here.
    public func kerasShape(for ours: [Int]) -> [Int] {
        switch self {
        case .vector: return ours
        case .convKernel: return ours.count == 4 ? [ours[2], ours[3], ours[1], ours[0]] : ours
        case .depthwiseKernel: return ours.count == 4 ? [ours[2], ours[3], ours[0], ours[1]] : ours
        case .denseKernel, .flattenedDenseKernel: return ours.count == 2 ? [ours[1], ours[0]] : ours
        }
    }

    /// Our column for Keras kernel row `row` (the input feature index); the identity except
    /// after a flatten.
    public func ourInputIndex(forKerasRow row: Int) -> Int {
        guard case .flattenedDenseKernel(let height, let width, let channels) = self else { return row }
        let (h, w, c) = (row / (width * channels), row / channels % width, row % channels)
        return (c * height + h) * width + w
    }
}
