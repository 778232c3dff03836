import XCTest
@testable import Models
@testable import NeuralNet
import TestSupport

final class VGGTests: XCTestCase {
    /// torchvision's `vgg19` state-dict names (16 convolutions and 3 linear layers, weight and
    /// bias each), and the notop count: Keras's convolutions plus our head.
    func testParameterCountsAndTorchvisionNames() throws {
        let top = try Architectures.named("vgg19").build(classes: 1000, head: .linear)
        let names = top.namedParameters.map(\.name)
        XCTAssertEqual(names.count, 38)
        XCTAssertEqual(Array(names.prefix(4)), ["features.0.weight", "features.0.bias", "features.2.weight", "features.2.bias"])
        XCTAssertEqual(Array(names.suffix(6)), ["classifier.0.weight", "classifier.0.bias", "classifier.3.weight",
                                                "classifier.3.bias", "classifier.6.weight", "classifier.6.bias"])
        let shapes = Dictionary(uniqueKeysWithValues: top.namedParameters.map { ($0.name, $0.parameter.shape) })
        XCTAssertEqual(shapes["features.34.weight"], [512, 512, 3, 3])
        XCTAssertEqual(shapes["features.28.weight"], [512, 512, 3, 3])
        XCTAssertEqual(shapes["features.10.weight"], [256, 128, 3, 3])
        XCTAssertEqual(shapes["classifier.0.weight"], [4096, 25088])
        XCTAssertEqual(top.stages.suffix(4), ["features.34", "classifier.0", "classifier.3", "classifier.6"])

        let noTop = try Architectures.named("vgg19-notop").build(classes: 1000, head: .linear)
        let keras = try KerasLayerFixture.load("vgg19-notop").total_params
        XCTAssertEqual(keras, 20_024_384)
        XCTAssertEqual(noTop.publishedParameterCount, keras + 512 * 1000 + 1000, "convolutions plus a 512→1000 Dense")
        XCTAssertEqual(noTop.stages.count, 17)
        XCTAssertEqual(noTop.stages.last, "classifier")
    }

    /// Keras row h·7·512 + w·512 + c of fc1's kernel holds our column c·49 + h·7 + w.
    func testFlattenedDenseKernelIndex() {
        let layout = KerasWeightLayout.flattenedDenseKernel(height: 7, width: 7, channels: 512)
        XCTAssertEqual(layout.ourInputIndex(forKerasRow: 0), 0)
        XCTAssertEqual(layout.ourInputIndex(forKerasRow: 1), 49)            // (h 0, w 0, c 1)
        XCTAssertEqual(layout.ourInputIndex(forKerasRow: 512), 1)           // (h 0, w 1, c 0)
        XCTAssertEqual(layout.ourInputIndex(forKerasRow: 7 * 512), 7)       // (h 1, w 0, c 0)
        let all = (0..<25088).map(layout.ourInputIndex(forKerasRow:))
        XCTAssertEqual(Set(all).count, 25088, "a permutation")
        XCTAssertEqual(KerasWeightLayout.denseKernel.ourInputIndex(forKerasRow: 77), 77)
    }

    /// With the top at Keras's 224×224. The reference gets fc1 only as a Keras kernel built
    /// with `ourInputIndex` and applies it Keras's way (NHWC flatten), so this also checks
    /// the permutation weight import will use.
    func testTopLogitsMatchOnnxRuntimeWithKerasOrderedFC1() throws {
        let model = try Architectures.named("vgg19").build(classes: 10, head: .linear, seed: 5)
        let fc1 = model.namedParameters.first { $0.name == "classifier.0.weight" }!.parameter
        let layout = VGGConfig.vgg19.kerasLayers().first { $0.name == "fc1" }!.weights[0].layout
        let (outputs, inputs) = (fc1.shape[0], fc1.shape[1])
        let ours = fc1.storage
        var kernel = [Float](repeating: 0, count: fc1.count)
        for row in 0..<inputs {
            let column = layout.ourInputIndex(forKerasRow: row)
            for o in 0..<outputs { kernel[row * outputs + o] = ours[o * inputs + column] }
        }
        let error = try randomWeightParityError(model, batch: 2, size: 224, seed: 6,
                                                          extra: [("keras.fc1.kernel", [inputs, outputs], kernel)],
                                                          replacing: ["classifier.0.weight"])
        XCTAssertLessThanOrEqual(error, 1e-4)
    }

    /// The top's new wiring (convolution, pool, flatten, fully connected, ReLU) against
    /// finite differences at a tiny size.
    func testTopBackwardMatchesFiniteDifferences() throws {
        let conv = try Conv2D(3, 4, kernel: 3, padding: 1, bias: true)
        let fc = try Linear(4 * 3 * 3, 5)
        let net = Sequential([("", conv), ("", Activation(.relu)), ("", try Pool2D(.max, kernel: 2, stride: 2)),
                              ("", Flatten()), ("", fc), ("", Activation(.relu))])
        try randomize(net, seed: 8, scale: 0.5)
        try fc.bias!.assign([Float](repeating: 2, count: 5))  // keep the last ReLU on its linear side
        try conv.bias!.assign([Float](repeating: 1, count: 4))
        try checkGradients(net, input: try randomTensor([2, 3, 6, 6], seed: 9, gap: 0.05), step: 1e-3, tolerance: 2e-3)
    }
}
