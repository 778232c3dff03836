import NeuralNet

/// How raw RGB pixels in [0, 255] become network input; it belongs to the weights, so it is
/// stored in every model file and applied by every consumer.
public struct Preprocessing: Codable, Sendable, Equatable {
    /// The name of the loader's normalization (`Dermoscopy.Normalization`): `torchvision`,
    /// `caffe`, `tf`, `kerasTorch` or `tfLite`, whose `mean` and `std` spell it out as
    /// (x/255 − mean)/std for readers of the model file; or `perChannel`, where they are the
    /// definition (RGB): any per-channel scale and offset, such as a Keras model's own
    /// `Rescaling` and `Normalization` layers compute.
    public let mode: String
    public let mean: [Float]
    public let std: [Float]

    /// torchvision's ImageNet statistics.
    public static let imagenet = Preprocessing(mode: "torchvision", mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225])

    /// (x − 127) / 128, written as (x/255 − mean)/std: the "inception-style" input of the
    /// TensorFlow Lite EfficientNets, chosen there for post-quantization accuracy.
    public static let tfLite = Preprocessing(mode: "tfLite", mean: [Float](repeating: 127.0 / 255, count: 3),
                                             std: [Float](repeating: 128.0 / 255, count: 3))

    /// Keras "caffe" mode (VGG19, ResNet50): BGR, x − the BGR ImageNet means, no scaling; `mean` is
    /// the RGB means over 255 and `std` 1/255, so (x/255 − mean)/std = x − 255·mean.
    public static let caffe = Preprocessing(mode: "caffe", mean: [123.68 / 255, 116.779 / 255, 103.939 / 255],
                                            std: [Float](repeating: 1.0 / 255, count: 3))

    /// Keras "tf" mode (ResNet50V2, InceptionV3, Xception): x / 127.5 − 1.
    public static let tf = Preprocessing(mode: "tf", mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5])

    /// Keras "torch" mode (DenseNet121): torchvision's statistics under Keras's name.
    public static let kerasTorch = Preprocessing(mode: "kerasTorch", mean: imagenet.mean, std: imagenet.std)

    /// x·scale[c] + offset[c] on RGB bytes, written as (x/255 − mean)/std; nil where a scale
    /// is zero or a value is not finite (no normalization computes that).
    public static func perChannel(scale: [Double], offset: [Double]) -> Preprocessing? {
        guard scale.count == 3, offset.count == 3, (scale + offset).allSatisfy(\.isFinite), !scale.contains(0) else { return nil }
        return Preprocessing(mode: "perChannel", mean: zip(scale, offset).map { Float(-$1 / $0 / 255) },
                             std: scale.map { Float(1 / ($0 * 255)) })
    }

    /// Whether the network's input planes are blue, green, red (Keras's caffe mode) rather
    /// than red, green, blue; `mean` and `std` are in RGB order either way.
    public var reversesChannels: Bool { mode == Self.caffe.mode }

    public var summary: String {
        "\(mode): mean \(mean.map { "\($0)" }.joined(separator: ",")) std \(std.map { "\($0)" }.joined(separator: ","))"
    }
}

/// One entry of the architecture registry: everything needed to build a network and feed it.
public struct Architecture: Sendable {
    public let name: String
    public let summary: String
    public let inputSize: Int
    public let preprocessing: Preprocessing
    /// The stage whose output Grad-CAM explains.
    public let camLayer: String
    /// Name of the classifier module in the source framework's state dicts (`fc`, `_fc`).
    public let headName: String
    /// Whether the published parameter count includes BatchNorm's moving mean and variance:
    /// Keras's "Total params" does, torchvision's `sum(p.numel() for p in parameters())` does not.
    public let countsRunningStatistics: Bool
    /// Whether global average pooling joins backbone and head; false where the backbone
    /// ends in vectors itself (VGG19 with its fully connected top).
    public internal(set) var poolsFeatures = true
    public let featureChannels: Int
    let makeBackbone: @Sendable () throws -> [(String, any Layer)]
    /// Keras Applications' weight-holding layers given the head's name; see `kerasLayers`.
    var kerasTable: (@Sendable (_ head: String) -> [KerasLayer])? = nil
    /// The Keras Applications layer whose output our backbone computes (`include_top=False`'s
    /// output, `fc2` with VGG19's top). Weightless layers such as DenseNet's final `relu`
    /// belong to it, so a saved model's configuration is read as head from here on.
    public internal(set) var kerasFeatureLayer: String? = nil

    /// Where Keras Applications' weights go: every weight-holding Keras layer with our names,
    /// the 1000-class `predictions` Dense onto `headName`. Nil where Keras has no such model
    /// with our topology: torchvision's ResNet-50 (Keras's is `resnet50-keras`, with biases and
    /// the stride elsewhere), and Keras has no EfficientNet-Lite0.
    public var kerasLayers: [KerasLayer]? { kerasTable?(headName) }

    /// Builds the network with `classes` outputs, initialised from `seed`; with `fusion`, the
    /// head also reads a patient-metadata vector.
    public func build(classes: Int, head: HeadConfig = .standard, fusion: MetadataFusion? = nil, seed: UInt64 = 0) throws -> Classifier {
        try Classifier(architecture: self, backbone: makeBackbone(), featureChannels: featureChannels, classes: classes,
                       head: head, fusion: fusion, seed: seed)
    }
}

extension Architecture {
    /// An EfficientNet-Lite at its own resolution, with lukemelas/EfficientNet-PyTorch's names.
    static func efficientNetLite(_ name: String, _ config: EfficientNetConfig) -> Architecture {
        let variant = name.replacingOccurrences(of: "efficientnet-lite", with: "EfficientNet-Lite")
        return Architecture(name: name, summary: "\(variant) (lukemelas names)", inputSize: config.inputSize,
                            preprocessing: .tfLite, camLayer: "_conv_head", headName: "_fc",
                            countsRunningStatistics: false, featureChannels: config.head,
                            makeBackbone: { try config.makeBackbone() })
    }
}

/// Every architecture SkinLesion can build, by the name `--arch` takes.
public enum Architectures {
    public static let all: [Architecture] = [
        Architecture(name: "resnet50", summary: "ResNet-50 v1.5 (torchvision)", inputSize: 224,
                     preprocessing: .imagenet, camLayer: "layer4", headName: "fc",
                     countsRunningStatistics: false, featureChannels: ResNetConfig.resnet50.featureChannels,
                     makeBackbone: { try ResNetConfig.resnet50.makeBackbone() }),
        Architecture(name: "resnet50-keras", summary: "ResNet50 v1 (Keras topology: stride on the first 1×1, biased convolutions; torchvision names)",
                     inputSize: 224, preprocessing: .caffe, camLayer: "layer4", headName: "fc",
                     countsRunningStatistics: true, featureChannels: ResNetConfig.kerasResNet50.featureChannels,
                     makeBackbone: { try ResNetConfig.kerasResNet50.makeBackbone() },
                     kerasTable: { ResNetConfig.kerasResNet50.kerasLayers(head: $0) }, kerasFeatureLayer: "conv5_block3_out"),
        .efficientNetLite("efficientnet-lite0", .lite0),
        .efficientNetLite("efficientnet-lite1", .lite1),
        .efficientNetLite("efficientnet-lite2", .lite2),
        Architecture(name: "vgg19", summary: "VGG19 with its fully connected top (Keras topology, torchvision names)",
                     inputSize: 224, preprocessing: .caffe, camLayer: "features.34", headName: "classifier.6",
                     countsRunningStatistics: true, poolsFeatures: false, featureChannels: VGGConfig.vgg19.featureChannels,
                     makeBackbone: { try VGGConfig.vgg19.makeBackbone() },
                     kerasTable: { VGGConfig.vgg19.kerasLayers(head: $0) }, kerasFeatureLayer: "fc2"),
        Architecture(name: "vgg19-notop", summary: "VGG19 convolutions + global average pooling (Keras include_top=False)",
                     inputSize: 224, preprocessing: .caffe, camLayer: "features.34", headName: "classifier",
                     countsRunningStatistics: true, featureChannels: VGGConfig.vgg19NoTop.featureChannels,
                     makeBackbone: { try VGGConfig.vgg19NoTop.makeBackbone() },
                     kerasTable: { VGGConfig.vgg19NoTop.kerasLayers(head: $0) }, kerasFeatureLayer: "block5_pool"),
        Architecture(name: "resnet50v2", summary: "ResNet50V2, pre-activation (Keras topology, timm names)", inputSize: 224,
                     preprocessing: .tf, camLayer: "norm", headName: "head.fc",
                     countsRunningStatistics: true, featureChannels: ResNetV2Config.resnet50v2.featureChannels,
                     makeBackbone: { try ResNetV2Config.resnet50v2.makeBackbone() },
                     kerasTable: { ResNetV2Config.resnet50v2.kerasLayers(head: $0) }, kerasFeatureLayer: "post_relu"),
        Architecture(name: "densenet121", summary: "DenseNet-121 (Keras topology, torchvision names)", inputSize: 224,
                     preprocessing: .kerasTorch, camLayer: "features.norm5", headName: "classifier",
                     countsRunningStatistics: true, featureChannels: DenseNetConfig.densenet121.featureChannels,
                     makeBackbone: { try DenseNetConfig.densenet121.makeBackbone() },
                     kerasTable: { DenseNetConfig.densenet121.kerasLayers(head: $0) }, kerasFeatureLayer: "relu"),
        Architecture(name: "inceptionv3", summary: "InceptionV3 (Keras topology, torchvision names)", inputSize: 299,
                     preprocessing: .tf, camLayer: "Mixed_7c", headName: "fc",
                     countsRunningStatistics: true, featureChannels: InceptionV3Config.keras.featureChannels,
                     makeBackbone: { try InceptionV3Config.keras.makeBackbone() },
                     kerasTable: { InceptionV3Config.keras.kerasLayers(head: $0) }, kerasFeatureLayer: "mixed10"),
        Architecture(name: "xception", summary: "Xception (Keras topology, timm legacy_xception names)", inputSize: 299,
                     preprocessing: .tf, camLayer: "conv4", headName: "fc",
                     countsRunningStatistics: true, featureChannels: XceptionConfig.keras.featureChannels,
                     makeBackbone: { try XceptionConfig.keras.makeBackbone() },
                     kerasTable: { XceptionConfig.keras.kerasLayers(head: $0) }, kerasFeatureLayer: "block14_sepconv2_act"),
    ]

    public static func named(_ name: String) throws -> Architecture {
        guard let found = all.first(where: { $0.name == name.lowercased() }) else {
            throw NeuralNetError.invalidArgument("unknown architecture '\(name)'; available: \(all.map(\.name).joined(separator: ", "))")
        }
        return found
    }
}
