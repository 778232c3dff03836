import XCTest
@testable import Models
@testable import NeuralNet
import TestSupport

final class DenseNetTests: XCTestCase {
    /// torchvision's `densenet121` state dict: 121 BatchNorms (stem, two per dense layer × 58,
    /// three transitions, norm5) with 5 entries each, 120 convolutions and the classifier's
    /// weight and bias: 727 entries.
    func testTorchvisionNames() throws {
        let model = try Architectures.named("densenet121").build(classes: 1000, head: .linear)
        XCTAssertEqual(model.namedParameters.count, 727)
        XCTAssertEqual(model.stages, ["features", "features.denseblock1", "features.transition1", "features.denseblock2",
                                      "features.transition2", "features.denseblock3", "features.transition3",
                                      "features.denseblock4", "features.norm5", "classifier"])
        let shapes = Dictionary(uniqueKeysWithValues: model.namedParameters.map { ($0.name, $0.parameter.shape) })
        XCTAssertEqual(shapes["features.conv0.weight"], [64, 3, 7, 7])
        XCTAssertEqual(shapes["features.norm0.running_mean"], [64])
        XCTAssertEqual(shapes["features.denseblock1.denselayer1.norm1.weight"], [64])
        XCTAssertEqual(shapes["features.denseblock1.denselayer1.conv1.weight"], [128, 64, 1, 1])
        XCTAssertEqual(shapes["features.denseblock1.denselayer6.conv2.weight"], [32, 128, 3, 3])
        XCTAssertEqual(shapes["features.transition1.conv.weight"], [128, 256, 1, 1])
        XCTAssertEqual(shapes["features.denseblock4.denselayer16.norm1.weight"], [992])
        XCTAssertEqual(shapes["features.norm5.weight"], [1024])
        XCTAssertEqual(shapes["classifier.weight"], [1000, 1024])
    }

    /// A dense layer (concatenation after its input) and two of them chained, so the
    /// gradient of an input that reaches the output both directly and through a layer is checked.
    func testDenseLayerBackwardMatchesFiniteDifferences() throws {
        let first = try DenseLayer(inChannels: 4, growth: 3, bottleneckWidth: 6, epsilon: 1.001e-5, momentum: 0.01)
        let second = try DenseLayer(inChannels: 7, growth: 3, bottleneckWidth: 6, epsilon: 1.001e-5, momentum: 0.01)
        for layer in [first, second] {
            try linearizeForGradientCheck([layer.norm1, layer.bottleneck.bn], convolutions: [layer.bottleneck.conv, layer.conv2],
                                          scale: 0.1, seed: 9)
        }
        let x = try randomTensor([2, 4, 5, 5], seed: 10)
        try checkGradients(first, input: x, step: 0.1)
        try checkGradients(Sequential([("denselayer1", first), ("denselayer2", second)]), input: x, step: 0.1)
    }
}
