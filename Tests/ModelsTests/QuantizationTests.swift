import Foundation
import XCTest
@testable import Inference
@testable import Models
@testable import NeuralNet

/// INT8 ResNet-50 end to end on random weights: calibration, agreement with FP32, the int8
/// model file (I8 weights, bounded scales) and its FP32 view, Grad-CAM on it, refusals, and
/// bf16 where this CPU can run it.
final class QuantizationTests: XCTestCase {
    private static let size = 32

    private func noise(_ n: Int, seed: UInt64) throws -> Tensor {
        var rng = SeededGenerator(seed: seed)
        return try Tensor(shape: [n, 3, Self.size, Self.size], values: (0..<(n * 3 * Self.size * Self.size)).map { _ in rng.nextNormal() })
    }

    private func quantizedResNet() throws -> (model: Classifier, record: QuantizationRecord, fp32: [Float], input: Tensor) {
        let model = try Architectures.named("resnet50").build(classes: 7, seed: 3)
        let input = try noise(4, seed: 99)
        let fp32 = try model.forward(input, mode: .inference).toArray()
        var seeds: [UInt64] = [1, 2, 3, 4]
        let record = try Quantizer(calibration: .minmax).quantize(model, split: "noise") {
            guard let seed = seeds.popLast() else { return nil }
            return try self.noise(4, seed: seed)
        }
        return (model, record, fp32, input)
    }

    /// Cosine similarity of two logit vectors, and the largest difference relative to the largest logit.
    private func agreement(_ a: [Float], _ b: [Float]) -> (cosine: Float, relative: Float) {
        let dot = zip(a, b).map(*).reduce(0, +)
        let norms = (a.map { $0 * $0 }.reduce(0, +) * b.map { $0 * $0 }.reduce(0, +)).squareRoot()
        let largest = a.map(abs).max()!
        return (dot / norms, zip(a, b).map { abs($0 - $1) }.max()! / largest)
    }

    func testResNetInt8AgreesWithFP32AndItsFileRoundTrips() throws {
        let (model, record, fp32, input) = try quantizedResNet()
        XCTAssertEqual(record.layers.count, 53, "ResNet-50 has 53 convolutions")
        XCTAssertEqual(record.images, 16)
        XCTAssertEqual(record.layers["conv1"]?.output, .u8)
        XCTAssertNotNil(record.layers["conv1"]?.inputScale, "the stem quantizes its FP32 input")
        XCTAssertEqual(record.layers["layer1.0.downsample.0"]?.output, .s8, "a projection shortcut can be negative")
        XCTAssertEqual(record.layers["layer4.2.conv3"]?.output, .f32, "the last convolution feeds the FP32 head")

        try model.run(at: .int8)
        let int8 = try model.forward(input, mode: .inference).toArray()
        let (cosine, relative) = agreement(fp32, int8)
        print("int8 vs fp32 logits: cosine \(cosine), largest difference \(relative) of the largest logit")
        XCTAssertGreaterThan(cosine, 0.98)
        XCTAssertLessThan(relative, 0.2)

        // Its FP32 view computes the dequantized network: closer to FP32 still, and to int8.
        try model.run(at: .fp32)
        let dequantized = try model.forward(input, mode: .inference).toArray()
        XCTAssertGreaterThan(agreement(fp32, dequantized).cosine, 0.999)

        // The file: I8 weights under the FP32 names, scales beside them, no BatchNorm, same results.
        var metadata = ModelMetadata(architecture: "resnet50", classNames: (0..<7).map { "c\($0)" }, head: model.head,
                                     inputSize: Self.size, preprocessing: .imagenet)
        metadata.precision = .int8
        metadata.quantization = record
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("int8-\(UUID().uuidString).safetensors")
        defer { try? FileManager.default.removeItem(at: url) }
        try ModelFile.saveQuantized(model, metadata: metadata, to: url)
        let file = try SafeTensorsFile(contentsOf: url)
        XCTAssertEqual(file.entries["layer1.0.conv1.weight"]?.dtype, .i8)
        XCTAssertEqual(file.entries["layer1.0.conv1.weight_scale"]?.shape, [64])
        XCTAssertNil(file.entries["layer1.0.bn1.running_var"])
        XCTAssertEqual(file.entries["fc.0.weight"]?.dtype, .f32)

        let (loaded, loadedMetadata) = try ModelFile.load(from: url)
        XCTAssertEqual(loadedMetadata, metadata)
        try loaded.run(at: .int8)
        XCTAssertEqual(try loaded.forward(input, mode: .inference).toArray(), int8, "the file holds exactly the in-memory int8 model")
        try loaded.run(at: .fp32)
        let reloaded = try loaded.forward(input, mode: .inference).toArray()
        XCTAssertLessThan(agreement(dequantized, reloaded).relative, 1e-4)

        // Grad-CAM on the int8 model: the int8 backbone up to layer4, FP32 layers differentiated after it.
        try loaded.run(at: .int8)
        let image = try noise(1, seed: 5)
        let heat = try GradCAM.heatmap(model: loaded, input: image, classIndex: 2)
        XCTAssertTrue(heat.map.allSatisfy(\.isFinite))
        XCTAssertEqual(heat.map.count, heat.width * heat.height)
    }

    /// Keras's ResNet50 graph quantizes too: its int8 file loads back to the same logits, and the
    /// record calibration makes of it passes the structural check that refuses edited records
    /// (one input scale, one f32 output on the last convolution, u8 only after a ReLU).
    func testKerasResNetInt8FileRoundTripsAndEditedRecordsAreRefused() throws {
        let model = try Architectures.named("resnet50-keras").build(classes: 4, seed: 5)
        var seeds: [UInt64] = [7, 8]
        let record = try Quantizer(calibration: .minmax).quantize(model, split: "noise") {
            guard let seed = seeds.popLast() else { return nil }
            return try self.noise(2, seed: seed)
        }
        let units = Quantizer.units(of: model)
        XCTAssertNil(Quantizer.mismatch(record, units, architecture: "resnet50-keras"))
        XCTAssertEqual(record.layers.filter { $0.value.output == .f32 }.map(\.key), [units.last!.conv],
                       "the last convolution calibration saw run is the last one units(of:) lists")
        let input = try noise(2, seed: 9)
        try model.run(at: .int8)
        let int8 = try model.forward(input, mode: .inference).toArray()
        var metadata = ModelMetadata(architecture: "resnet50-keras", classNames: (0..<4).map { "c\($0)" }, head: model.head,
                                     inputSize: Self.size, preprocessing: model.architecture.preprocessing)
        metadata.precision = .int8
        metadata.quantization = record
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("keras-int8-\(UUID().uuidString).safetensors")
        defer { try? FileManager.default.removeItem(at: url) }
        try ModelFile.saveQuantized(model, metadata: metadata, to: url)
        let (loaded, _) = try ModelFile.load(from: url)
        try loaded.run(at: .int8)
        XCTAssertEqual(try loaded.forward(input, mode: .inference).toArray(), int8)

        var edited = record
        edited.layers[units.last!.conv]!.output = .u8
        metadata.quantization = edited
        try ModelFile.saveQuantized(model, metadata: metadata, to: url)
        XCTAssertThrowsError(try ModelFile.load(from: url)) {
            XCTAssertTrue("\($0)".contains("0 convolutions an f32 output") && "\($0)".contains(url.lastPathComponent), "\($0)")
        }
    }

    func testRefusals() throws {
        let plain = try Architectures.named("resnet50").build(classes: 3)
        XCTAssertThrowsError(try plain.run(at: .int8)) {
            XCTAssertTrue("\($0)".contains("needs a quantized model (skinlesion quantize)"), "\($0)")
        }
        let lite = try Architectures.named("efficientnet-lite0").build(classes: 3)
        XCTAssertThrowsError(try Quantizer(calibration: .minmax).quantize(lite, split: "val") { nil }) {
            XCTAssertTrue("\($0)".contains("efficientnet-lite0 has layers it does not quantize"), "\($0)")
            XCTAssertTrue("\($0)".contains("resnet50, resnet50-keras"), "\($0)")
        }
    }

    func testInt8MetadataIsBounded() throws {
        var metadata = ModelMetadata(architecture: "resnet50", classNames: ["a", "b"], head: .linear, inputSize: 224,
                                     preprocessing: .imagenet)
        metadata.precision = .int8
        XCTAssertTrue(ModelLimits.problems(in: metadata).contains { $0.contains("precision int8 needs a quantization record") })
        metadata.quantization = QuantizationRecord(calibration: .percentile, images: 0, split: "val", layers: [
            "conv1": .init(output: .u8, outputScale: .nan, inputScale: 1e30),
        ])
        let problems = ModelLimits.problems(in: metadata)
        XCTAssertTrue(problems.contains { $0.contains("quantization images 0") }, "\(problems)")
        XCTAssertTrue(problems.contains { $0.contains("conv1 outputScale nan is not a finite number") }, "\(problems)")
        XCTAssertTrue(problems.contains { $0.contains("conv1 inputScale") }, "\(problems)")
        metadata.precision = .bf16
        XCTAssertTrue(ModelLimits.problems(in: metadata).contains { $0.contains("not a file format") })
    }

    /// bf16 runs where oneDNN has native bf16 and is refused, naming the instructions, where it
    /// does not. The bf16 arithmetic itself is also checked wherever oneDNN has bf16 kernels at all
    /// (AVX-512, emulated without AVX512_BF16), by setting the layers directly.
    func testBF16RunsWhereTheCPUHasItAndIsRefusedElsewhere() throws {
        let model = try Architectures.named("resnet50").build(classes: 7, seed: 3)
        let input = try noise(2, seed: 8)
        let fp32 = try model.forward(input, mode: .inference).toArray()
        let isa = CPUISA.effective
        if isa.includes(.avx512CoreBF16) {
            try model.run(at: .bf16)
            XCTAssertLessThan(agreement(fp32, try model.forward(input, mode: .inference).toArray()).relative, 0.05)
        } else {
            XCTAssertThrowsError(try model.run(at: .bf16)) {
                XCTAssertTrue("\($0)".contains("AVX512_BF16"), "\($0)")
                XCTAssertTrue("\($0)".contains("oneDNN reports \(isa.name)"), "\($0)")
            }
        }
        guard isa.includes(.avx512Core) else { return }
        for unit in model.allLayers.compactMap({ $0 as? ConvBN }) { unit.precision = .bf16 }
        let bf16 = try model.forward(input, mode: .inference).toArray()
        let (cosine, relative) = agreement(fp32, bf16)
        print("bf16 vs fp32 logits: cosine \(cosine), largest difference \(relative) of the largest logit")
        XCTAssertGreaterThan(cosine, 0.999)
        XCTAssertLessThan(relative, 0.05)
    }
}
