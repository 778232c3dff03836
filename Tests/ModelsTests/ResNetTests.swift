import XCTest
@testable import Models
@testable import NeuralNet
import TestSupport

final class ResNetTests: XCTestCase {
    func testParameterCountAndTorchvisionNames() throws {
        let model = try Architectures.named("resnet50").build(classes: 1000, head: .linear)
        XCTAssertEqual(model.parameterCount, 25_557_032)
        let names = model.namedParameters.map(\.name)
        XCTAssertEqual(names.count, 320, "torchvision's resnet50 state dict has 320 entries")
        XCTAssertEqual(Set(names).count, names.count, "duplicate names")
        XCTAssertEqual(Array(names.prefix(6)), ["conv1.weight", "bn1.weight", "bn1.bias", "bn1.running_mean",
                                                "bn1.running_var", "bn1.num_batches_tracked"])
        for expected in ["layer1.0.downsample.0.weight", "layer1.0.downsample.1.running_var", "layer2.0.conv2.weight",
                         "layer3.5.bn3.bias", "layer4.2.bn3.running_var", "fc.weight", "fc.bias"] {
            XCTAssertTrue(names.contains(expected), expected)
        }
        XCTAssertFalse(names.contains("layer1.1.downsample.0.weight"))
        let shapes = Dictionary(uniqueKeysWithValues: model.namedParameters.map { ($0.name, $0.parameter.shape) })
        XCTAssertEqual(shapes["layer2.0.conv2.weight"], [128, 128, 3, 3])
        XCTAssertEqual(shapes["layer4.0.downsample.0.weight"], [2048, 1024, 1, 1])
        XCTAssertEqual(shapes["bn1.num_batches_tracked"], [])
        XCTAssertEqual(shapes["fc.weight"], [1000, 2048])
    }

    func testStandardHeadNamesAndStages() throws {
        let model = try Architectures.named("resnet50").build(classes: 7)
        let head = model.namedParameters.map(\.name).filter { $0.hasPrefix("fc.") }
        XCTAssertEqual(head, ["fc.0.weight", "fc.0.bias", "fc.1.weight", "fc.1.bias", "fc.1.running_mean",
                              "fc.1.running_var", "fc.1.num_batches_tracked", "fc.4.weight", "fc.4.bias"])
        XCTAssertEqual(model.stages, ["conv1", "layer1", "layer2", "layer3", "layer4", "fc"])
        XCTAssertThrowsError(try model.trainFrom(stage: "layer9")) {
            XCTAssertTrue("\($0)".contains("stages are conv1, layer1"), "\($0)")
        }
        XCTAssertThrowsError(try Architectures.named("resnet51")) {
            XCTAssertTrue("\($0)".contains("unknown architecture 'resnet51'; available: resnet50"), "\($0)")
        }
    }

    func testFrozenStagesGetNoGradientsAndKeepStatistics() throws {
        let model = try Architectures.named("resnet50").build(classes: 3, head: .mlp(hidden: [16], dropout: 0))
        try model.trainFrom(stage: "layer4")
        let frozenStats = model.namedParameters.first { $0.name == "layer3.0.bn1.running_mean" }!.parameter
        let trainedStats = model.namedParameters.first { $0.name == "layer4.0.bn1.running_mean" }!.parameter
        let before = (frozenStats.values, trainedStats.values)
        let x = try Tensor(shape: [2, 3, 64, 64], values: (0..<(2 * 3 * 64 * 64)).map { Float($0 % 17) / 17 - 0.5 })
        let logits = try model.forward(x, mode: .training)
        let loss = try SoftmaxCrossEntropy()(logits: logits, labels: [0, 2])
        XCTAssertNil(try model.backward(loss.gradient, needsInputGradient: false))
        for (name, p) in model.namedParameters where p.kind == .weight {
            if name.hasPrefix("layer4") || name.hasPrefix("fc") {
                XCTAssertNotNil(p.grad, name)
            } else {
                XCTAssertTrue(p.frozen, name)
                XCTAssertNil(p.grad, name)
            }
        }
        XCTAssertEqual(frozenStats.values, before.0, "a frozen stage must not update its running statistics")
        XCTAssertNotEqual(trainedStats.values, before.1)
        // Frozen stages ran in inference mode, so they kept nothing for a backward pass.
        _ = try model.forward(x, mode: .training)
        let layer3 = model.network.children.first { $0.name == "layer3" }!.layer
        XCTAssertThrowsError(try layer3.backward(try Tensor(shape: [2, 1024, 4, 4], repeating: 0), needsInputGradient: false)) {
            XCTAssertTrue("\($0)".contains("without a training-mode forward"), "\($0)")
        }
    }

    /// Keras's ResNet50: torchvision's names plus a bias on every convolution, the stride on
    /// the first 1×1 and the shortcut (not the 3×3), and Keras's BatchNorm ε.
    func testKerasVariantHasBiasesAndStridesOnTheFirstOneByOne() throws {
        let model = try Architectures.named("resnet50-keras").build(classes: 1000, head: .linear)
        XCTAssertEqual(model.stages, ["conv1", "layer1", "layer2", "layer3", "layer4", "fc"])
        let shapes = Dictionary(uniqueKeysWithValues: model.namedParameters.map { ($0.name, $0.parameter.shape) })
        XCTAssertEqual(shapes["conv1.bias"], [64])
        XCTAssertEqual(shapes["layer1.0.downsample.0.bias"], [256])
        XCTAssertEqual(shapes["layer4.2.conv3.bias"], [2048])
        XCTAssertEqual(model.namedParameters.count, 320 + 53, "torchvision's 320 entries plus 53 convolution biases")
        let layer2 = model.network.children.first { $0.name == "layer2" }!.layer as! Sequential
        let blocks = layer2.children.map { $0.layer as! Bottleneck }
        XCTAssertEqual(blocks[0].reduce.conv.stride, [2, 2])
        XCTAssertEqual(blocks[0].spatial.conv.stride, [1, 1])
        XCTAssertEqual(blocks[0].downsample?.conv.stride, [2, 2])
        XCTAssertEqual(blocks[0].reduce.bn.epsilon, 1.001e-5)
        let torchvision = try Architectures.named("resnet50").build(classes: 3, head: .linear)
        let first = (torchvision.network.children.first { $0.name == "layer2" }!.layer as! Sequential).children[0].layer as! Bottleneck
        XCTAssertEqual(first.reduce.conv.stride, [1, 1])
        XCTAssertEqual(first.spatial.conv.stride, [2, 2])
        var x = try Tensor(shape: [1, 3, 224, 224], repeating: 0.5)
        for layer in try model.split(after: "layer4").prefix { x = try layer.forward(x, mode: .inference) }
        XCTAssertEqual(x.shape, [1, 2048, 7, 7])
    }

    /// The Keras bottleneck (biases, stride on the 1×1 reduce) with a strided projection and
    /// with an identity shortcut, against finite differences.
    func testKerasBottleneckBackwardMatchesFiniteDifferences() throws {
        for (stride, inChannels) in [(2, 6), (1, 8)] {
            let block = try Bottleneck(inChannels: inChannels, width: 2, stride: stride, config: .kerasResNet50)
            try linearizeForGradientCheck([block.reduce.bn, block.spatial.bn, block.expand.bn] + (block.downsample.map { [$0.bn] } ?? []),
                                          convolutions: [block.reduce.conv, block.spatial.conv, block.expand.conv]
                                              + (block.downsample.map { [$0.conv] } ?? []), seed: 9)
            XCTAssertNotNil(block.reduce.conv.bias)
            try checkGradients(block, input: try randomTensor([2, inChannels, 5, 5], seed: 10), step: 0.1)
        }
    }

    func testWrongInputShapeIsRejected() throws {
        let model = try Architectures.named("resnet50").build(classes: 2)
        XCTAssertThrowsError(try model.forward(try Tensor(shape: [1, 1, 32, 32], repeating: 0), mode: .inference)) {
            XCTAssertTrue("\($0)".contains("expects images [N, 3, H, W]"), "\($0)")
        }
    }
}
