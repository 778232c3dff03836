import Dermoscopy
import Foundation
@testable import Inference
import Models
import NeuralNet
import XCTest

final class GradCAMTests: XCTestCase {
    /// A deterministic pseudo-random input in roughly the range of normalised images.
    private func input(size: Int = 64, seed: UInt64 = 7) throws -> Tensor {
        var state = seed
        let values = (0..<(3 * size * size)).map { _ -> Float in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Float(state >> 40) / Float(1 << 24) * 4 - 2
        }
        return try Tensor(shape: [1, 3, size, size], values: values)
    }

    /// Moves the head's BatchNorm statistics off their identity defaults, so that using batch
    /// statistics instead of running ones would show in the logits.
    private func model(_ name: String) throws -> Classifier {
        let model = try Architectures.named(name).build(classes: 7, head: .standard)
        for (index, entry) in model.namedParameters.enumerated() where entry.name.hasSuffix("running_var") {
            try entry.parameter.assign((0..<entry.parameter.count).map { 0.5 + Float(($0 + index) % 5) * 0.3 })
        }
        return model
    }

    private func assertClose(_ actual: [Float], _ expected: [Float], relative: Float, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(actual.count, expected.count, file: file, line: line)
        let scale = max(expected.map(abs).max() ?? 0, 1e-6)
        for (a, e) in zip(actual, expected) {
            XCTAssertLessThanOrEqual(abs(a - e), relative * scale, "\(a) vs \(e)", file: file, line: line)
        }
    }

    /// (a) The suffix run for the backward pass gives the inference logits: BatchNorm on
    /// running statistics, dropout skipped.
    func testLogitsEqualInference() throws {
        for name in ["resnet50", "efficientnet-lite0"] {
            let model = try model(name)
            let x = try input()
            let pass = try GradCAM.backpropagate(model: model, input: x, classIndex: 2)
            assertClose(pass.logits, try model.forward(x, mode: .inference).toArray(), relative: 1e-5)
        }
    }

    /// (b) Frozen flags, BatchNorm modes, gradients and weights are as they were.
    func testModelIsLeftUnchanged() throws {
        let model = try model("resnet50")
        try model.trainFrom(stage: "layer4")
        let head = try XCTUnwrap(model.split(after: "avgpool").suffix.first as? Sequential)
        let norm = try XCTUnwrap(head.children.compactMap { $0.layer as? BatchNorm }.first)
        let x = try input()
        let before = try model.forward(x, mode: .inference).toArray()
        let frozen = model.parameters.map(\.frozen)
        let values = model.parameters.map(\.values)

        _ = try GradCAM.heatmap(model: model, input: x, classIndex: 4)

        XCTAssertEqual(try model.forward(x, mode: .inference).toArray(), before)
        XCTAssertEqual(model.parameters.map(\.frozen), frozen)
        XCTAssertEqual(model.parameters.map(\.values), values)
        XCTAssertTrue(model.parameters.allSatisfy { $0.grad == nil })
        XCTAssertFalse(norm.usesRunningStatistics)
    }

    /// (c) One value per cell of the CAM layer (input / 32), normalised to [0, 1].
    func testMapShapeAndRange() throws {
        for name in ["resnet50", "efficientnet-lite0"] {
            let cam = try GradCAM.heatmap(model: model(name), input: input(), classIndex: 1)
            XCTAssertEqual(cam.width, 2, name)
            XCTAssertEqual(cam.height, 2, name)
            XCTAssertEqual(cam.map.count, 4, name)
            XCTAssertTrue(cam.map.allSatisfy { (0...1).contains($0) }, "\(name): \(cam.map)")
            if cam.map.contains(where: { $0 > 0 }) { XCTAssertEqual(cam.map.max(), 1, name) }
        }
    }

    /// (d) dlogit/dA against central differences of the class logit, the suffix re-run in
    /// inference mode on perturbed activations, at the entries with the largest gradients.
    func testActivationGradientMatchesFiniteDifferences() throws {
        let classIndex = 3
        for name in ["resnet50", "efficientnet-lite0"] {
            let model = try model(name)
            // A large shift after the hidden BatchNorm keeps every ReLU of the head open, so
            // the suffix is linear in A and a large step has no truncation error, while float
            // rounding of the logits stays far below the tolerance.
            let shift = try XCTUnwrap(model.namedParameters.first { $0.name == model.architecture.headName + ".1.bias" })
            try shift.parameter.assign([Float](repeating: 5, count: shift.parameter.count))
            let pass = try GradCAM.backpropagate(model: model, input: input(), classIndex: classIndex)
            let suffix = try model.split(after: model.architecture.camLayer).suffix
            func logit(_ activations: [Float]) throws -> Float {
                let a = try Tensor(shape: [1, pass.channels, pass.height, pass.width], values: activations)
                return try suffix.reduce(a) { try $1.forward($0, mode: .inference) }.toArray()[classIndex]
            }
            // Past global pooling every position of a channel has the same gradient: one entry
            // per channel, at different positions, from the four most influential channels.
            let plane = pass.height * pass.width
            let channels = (0..<pass.channels).sorted { abs(pass.gradient[$0 * plane]) > abs(pass.gradient[$1 * plane]) }
            for (rank, channel) in channels.prefix(4).enumerated() {
                let i = channel * plane + rank % plane
                let epsilon: Float = 1
                var plus = pass.activations, minus = pass.activations
                plus[i] += epsilon
                minus[i] -= epsilon
                let numeric = (try logit(plus) - logit(minus)) / (2 * epsilon)
                XCTAssertLessThanOrEqual(abs(numeric - pass.gradient[i]), 1e-3 * abs(pass.gradient[i]),
                                         "\(name) entry \(i): analytic \(pass.gradient[i]), numeric \(numeric)")
            }
        }
    }

    func testOutOfRangeClassThrows() throws {
        XCTAssertThrowsError(try GradCAM.heatmap(model: model("resnet50"), input: input(), classIndex: 7))
    }

    /// (e) What the encoder writes, the project's decoder reads back pixel for pixel.
    func testPNGRoundTrip() throws {
        let pixels = (0..<273).map { (index: Int) -> UInt8 in UInt8(truncatingIfNeeded: index * 37 + 11) }
        let image = RGBImage(width: 13, height: 7, pixels: pixels)
        let data = try PNGEncoder.encode(image)
        XCTAssertEqual(Array(data.prefix(4)), [0x89, 0x50, 0x4E, 0x47])
        XCTAssertEqual(try ImageDecoder.decode(data, name: "overlay.png"), image)
    }

    /// (f) The overlay keeps the image's size, is the image at opacity 0, and at full opacity
    /// shows the hot cell of the map in the corner it came from.
    func testOverlay() throws {
        let image = RGBImage(width: 40, height: 30, filledWith: (120, 80, 60))
        let map: [Float] = [1, 0, 0, 0]
        XCTAssertEqual(HeatmapOverlay.blend(image: image, map: map, width: 2, height: 2, opacity: 0), image)
        let painted = HeatmapOverlay.blend(image: image, map: map, width: 2, height: 2, opacity: 1)
        XCTAssertEqual(painted.width, 40)
        XCTAssertEqual(painted.height, 30)
        let hot = HeatmapOverlay.turbo(1).map { UInt8(($0 * 255).rounded()) }
        let cold = HeatmapOverlay.turbo(0).map { UInt8(($0 * 255).rounded()) }
        XCTAssertEqual([painted[0, 0].0, painted[0, 0].1, painted[0, 0].2], hot)
        XCTAssertEqual([painted[39, 29].0, painted[39, 29].1, painted[39, 29].2], cold)
    }

    /// (g) Over a user's full-resolution, non-square image the map covers the centre square the
    /// network's view was cut from; the sides it never saw are dimmed, not painted.
    func testOverlayOnTheOriginalCoversTheCentreSquare() throws {
        let image = RGBImage(width: 60, height: 30, filledWith: (120, 80, 60))
        let region = HeatmapOverlay.Region.centreSquare(of: image)
        XCTAssertEqual(region, HeatmapOverlay.Region(x: 15, y: 0, width: 30, height: 30))
        let painted = HeatmapOverlay.blend(image: image, map: [1, 0, 0, 0], width: 2, height: 2, region: region, opacity: 1)
        XCTAssertEqual(painted.width, 60)
        XCTAssertEqual(painted.height, 30)
        let hot = HeatmapOverlay.turbo(1).map { UInt8(($0 * 255).rounded()) }
        let cold = HeatmapOverlay.turbo(0).map { UInt8(($0 * 255).rounded()) }
        XCTAssertEqual([painted[15, 0].0, painted[15, 0].1, painted[15, 0].2], hot, "the map's hot corner at the square's corner")
        XCTAssertEqual([painted[44, 29].0, painted[44, 29].1, painted[44, 29].2], cold)
        for x in [0, 14, 45, 59] {
            XCTAssertEqual([painted[x, 10].0, painted[x, 10].1, painted[x, 10].2], [60, 40, 30], "outside the view, dimmed at x \(x)")
        }
    }
}
