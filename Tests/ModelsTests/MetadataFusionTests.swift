import XCTest
@testable import Models
import NeuralNet
import TestSupport

final class MetadataFusionTests: XCTestCase {
    private func fusionHead(hidden: [Int] = [5], head: HeadConfig = .mlp(hidden: [6], dropout: 0.25)) throws -> MetadataFusionHead {
        let fusion = MetadataFusion(inputs: 4, hidden: hidden, dropout: 0.2)
        let top = try head.build(inFeatures: 3 + fusion.outputs, classes: 3, seed: 1)
        let layer = try MetadataFusionHead(fusion: fusion, imageFeatures: 3, headName: "fc", head: top, seed: 2)
        try randomize(layer, seed: 7, scale: 0.8)
        return layer
    }

    func testGradientsOfTheBranchTheHeadAndTheImageFeaturesMatchFiniteDifferences() throws {
        let layer = try fusionHead()
        layer.metadata = try randomTensor([6, 4], seed: 3)
        let generators = layer.children.flatMap { ($0 as! Sequential).children.compactMap { $0.layer as? Dropout } }
        // A bias right before a training-mode BatchNorm has an exactly zero gradient (the batch
        // mean absorbs it), so a relative comparison would only compare rounding noise: those
        // two are checked for zero instead.
        let beforeBatchNorm = layer.namedParameters.filter { ["meta.0.bias", "fc.0.bias"].contains($0.name) }.map(\.parameter)
        beforeBatchNorm.forEach { $0.frozen = true }
        try checkGradients(layer, input: try randomTensor([6, 3], seed: 4), step: 1e-3, tolerance: 2e-3, prepare: {
            for (i, d) in generators.enumerated() { d.generator = SeededGenerator(seed: 50 + UInt64(i)) }
        })
        beforeBatchNorm.forEach { $0.frozen = false }
        let y = try layer.forward(try randomTensor([6, 3], seed: 4), mode: .training)
        _ = try layer.backward(try randomTensor(y.shape, seed: 99), needsInputGradient: true)
        for p in beforeBatchNorm { XCTAssertLessThan(p.gradValues.map(abs).max()!, 1e-5) }
        XCTAssertTrue(layer.namedParameters.contains { $0.name == "meta.0.weight" })
        XCTAssertTrue(layer.namedParameters.contains { $0.name == "meta.1.running_var" })
        XCTAssertTrue(layer.namedParameters.contains { $0.name == "fc.4.weight" })
    }

    /// Inference computes head([features, branch(metadata)]) in that order: checked against the
    /// same weights applied by hand, one row at a time.
    func testInferenceConcatenatesImageFeaturesThenTheBranch() throws {
        let layer = try fusionHead(hidden: [2], head: .linear)
        let features = try randomTensor([2, 3], seed: 5), metadata = try randomTensor([2, 4], seed: 6)
        layer.metadata = metadata
        let out = try layer.forward(features, mode: .inference).toArray()
        let p = Dictionary(uniqueKeysWithValues: layer.namedParameters.map { ($0.name, $0.parameter.values) })
        let x = try features.toArray(), m = try metadata.toArray()
        var expected: [Float] = []
        for row in 0..<2 {
            var hidden: [Float] = []
            for j in 0..<2 {
                var z = p["meta.0.bias"]![j]
                for i in 0..<4 { z += p["meta.0.weight"]![j * 4 + i] * m[row * 4 + i] }
                let normalized = (z - p["meta.1.running_mean"]![j]) / (p["meta.1.running_var"]![j] + 1e-5).squareRoot()
                hidden.append(max(0, normalized * p["meta.1.weight"]![j] + p["meta.1.bias"]![j]))
            }
            let joined = Array(x[(row * 3)..<(row * 3 + 3)]) + hidden
            for c in 0..<3 {
                var z = p["fc.bias"]![c]
                for i in 0..<5 { z += p["fc.weight"]![c * 5 + i] * joined[i] }
                expected.append(z)
            }
        }
        assertClose(out, expected, tolerance: 1e-5, "fusion logits")
    }

    func testWithoutMetadataTheBranchContributesNothing() throws {
        let layer = try fusionHead(hidden: [2], head: .linear)
        let features = try randomTensor([2, 3], seed: 5)
        layer.metadata = try randomTensor([2, 4], seed: 6)
        layer.usesMetadata = false
        let ignored = try layer.forward(features, mode: .inference).toArray()
        let p = Dictionary(uniqueKeysWithValues: layer.namedParameters.map { ($0.name, $0.parameter.values) })
        let x = try features.toArray()
        let expected = (0..<2).flatMap { row in (0..<3).map { c in
            p["fc.bias"]![c] + (0..<3).reduce(Float(0)) { $0 + p["fc.weight"]![c * 5 + $1] * x[row * 3 + $1] }
        } }
        assertClose(ignored, expected, tolerance: 1e-5, "image-only logits")
    }

    func testAFusionClassifierNamesItsHeadStageAndRefusesMissingMetadata() throws {
        let model = try Architectures.named("efficientnet-lite0").build(classes: 3, fusion: MetadataFusion(inputs: 4), seed: 1)
        XCTAssertEqual(model.stages.last, "_fc")
        XCTAssertTrue(model.namedParameters.contains { $0.name == "meta.0.weight" })
        XCTAssertTrue(model.namedParameters.contains { $0.name == "_fc.0.weight" })
        let images = try randomTensor([1, 3, 32, 32], seed: 1)
        XCTAssertThrowsError(try model.forward(images, mode: .inference)) { error in
            XCTAssertTrue("\(error)".contains("metadata"), "\(error)")
        }
        try model.setMetadata(try randomTensor([1, 4], seed: 2))
        XCTAssertEqual(try model.forward(images, mode: .inference).shape, [1, 3])
        let plain = try Architectures.named("efficientnet-lite0").build(classes: 3, seed: 1)
        XCTAssertThrowsError(try plain.setMetadata(try randomTensor([1, 4], seed: 2)))
        XCTAssertThrowsError(try Architectures.named("vgg19").build(classes: 3, fusion: MetadataFusion(inputs: 4)))
    }
}
