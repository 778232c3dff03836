import XCTest
@testable import Models
@testable import NeuralNet
import TestSupport

final class ResNetV2Tests: XCTestCase {
    func testTimmNames() throws {
        let model = try Architectures.named("resnet50v2").build(classes: 1000, head: .linear)
        XCTAssertEqual(model.stages, ["stem", "stages.0", "stages.1", "stages.2", "stages.3", "norm", "head.fc"])
        let shapes = Dictionary(uniqueKeysWithValues: model.namedParameters.map { ($0.name, $0.parameter.shape) })
        XCTAssertEqual(shapes["stem.conv.weight"], [64, 3, 7, 7])
        XCTAssertEqual(shapes["stem.conv.bias"], [64])
        XCTAssertEqual(shapes["stages.0.blocks.0.downsample.conv.weight"], [256, 64, 1, 1])
        XCTAssertEqual(shapes["stages.0.blocks.0.downsample.conv.bias"], [256])
        XCTAssertEqual(shapes["stages.0.blocks.0.norm1.running_var"], [64])
        XCTAssertEqual(shapes["stages.3.blocks.2.conv2.weight"], [512, 512, 3, 3])
        XCTAssertEqual(shapes["stages.3.blocks.2.conv3.bias"], [2048])
        XCTAssertEqual(shapes["norm.weight"], [2048])
        XCTAssertEqual(shapes["head.fc.weight"], [1000, 2048])
        XCTAssertNil(shapes["stages.0.blocks.1.downsample.conv.weight"])
        XCTAssertNil(shapes["stages.0.blocks.0.conv1.bias"])
    }

    /// Keras's stride on the last block of stages 1–3: 224 → 56 after the stem, 7 at the end.
    func testStridesSitOnTheLastBlockOfAStage() throws {
        let model = try Architectures.named("resnet50v2").build(classes: 3, head: .linear)
        let (prefix, _) = try model.split(after: "stages.0")
        var x = try Tensor(shape: [1, 3, 224, 224], repeating: 0.5)
        for layer in prefix { x = try layer.forward(x, mode: .inference) }
        XCTAssertEqual(x.shape, [1, 256, 28, 28])
        let stage0 = model.network.children.first { $0.name == "stages.0" }!.layer as! Sequential
        let blocks = stage0.children.map { $0.layer as! PreActBottleneck }
        XCTAssertEqual(blocks.map { $0.spatial.conv.stride }, [[1, 1], [1, 1], [2, 2]])
        XCTAssertNotNil(blocks[2].subsample)
        XCTAssertNil(blocks[1].subsample)
    }

    /// Each kind of shortcut: projection of the pre-activation, strided 1×1 max pool of the
    /// raw input, and identity.
    func testPreActBottleneckBackwardMatchesFiniteDifferences() throws {
        for (projection, stride, inChannels) in [(true, 1, 6), (false, 2, 8), (false, 1, 8)] {
            let block = try PreActBottleneck(inChannels: inChannels, width: 2, stride: stride, projection: projection,
                                             epsilon: 1.001e-5, momentum: 0.01)
            try linearizeForGradientCheck([block.norm1, block.reduce.bn, block.spatial.bn],
                                          convolutions: [block.reduce.conv, block.spatial.conv, block.expand]
                                              + (block.downsample.map { [$0] } ?? []), seed: 7)
            let x = try randomTensor([2, inChannels, 5, 5], seed: 8)
            try checkGradients(block, input: x, step: 0.1)
        }
    }
}
