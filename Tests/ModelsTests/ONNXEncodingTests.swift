import Foundation
import XCTest
@testable import Interop
@testable import Models
@testable import NeuralNet

/// The protobuf writer against encodings worked out by hand from the wire-format rules, and
/// the exporter's refusals; the ONNX Runtime tests prove the whole files are readable.
final class ONNXEncodingTests: XCTestCase {
    func testVarintsAtEveryLengthBoundary() {
        let cases: [(UInt64, [UInt8])] = [
            (0, [0x00]), (1, [0x01]), (127, [0x7F]), (128, [0x80, 0x01]), (150, [0x96, 0x01]), (300, [0xAC, 0x02]),
            (16_383, [0xFF, 0x7F]), (16_384, [0x80, 0x80, 0x01]),
            (UInt64(UInt32.max), [0xFF, 0xFF, 0xFF, 0xFF, 0x0F]),
            (UInt64.max, [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01]),
        ]
        for (value, bytes) in cases {
            var message = ProtobufMessage()
            message.varint(1, value)
            XCTAssertEqual(message.serialized(), [0x08] + bytes, "\(value)")
            XCTAssertEqual(message.byteCount, 1 + bytes.count, "\(value)")
        }
    }

    func testNegativeInt64IsTenBytesOfTwosComplement() {
        var message = ProtobufMessage()
        message.int64(3, -1)
        XCTAssertEqual(message.serialized(), [0x18, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01])
    }

    func testKeysCarryFieldNumberAndWireType() {
        var message = ProtobufMessage()
        message.varint(20, 7)          // (20 << 3) | 0 = 160: two-byte key
        message.float(2, 1)            // (2 << 3) | 5, then 1.0 little-endian
        message.string(2, "testing")   // (2 << 3) | 2, length 7
        XCTAssertEqual(message.serialized(), [0xA0, 0x01, 0x07, 0x15, 0x00, 0x00, 0x80, 0x3F,
                                              0x12, 0x07] + Array("testing".utf8))
        XCTAssertEqual(message.byteCount, message.serialized().count)
    }

    func testEmbeddedMessagesAndBytesArePrefixedWithTheirLength() {
        var inner = ProtobufMessage()
        inner.varint(1, 150)
        var blob = ProtobufMessage()
        blob.bytes(9, Data([1, 2, 3]))
        var outer = ProtobufMessage()
        outer.message(3, inner)
        outer.int64s(1, [5, 6])
        outer.message(4, blob)
        outer.messages(5, [ProtobufMessage(), inner])
        XCTAssertEqual(outer.serialized(), [0x1A, 0x03, 0x08, 0x96, 0x01, 0x08, 0x05, 0x08, 0x06,
                                            0x22, 0x05, 0x4A, 0x03, 0x01, 0x02, 0x03,
                                            0x2A, 0x00, 0x2A, 0x03, 0x08, 0x96, 0x01])
        XCTAssertEqual(outer.byteCount, outer.serialized().count)
    }

    func testLengthsOfLargeFieldsTakeSeveralBytes() {
        var message = ProtobufMessage()
        message.bytes(1, Data(count: 200))
        let bytes = message.serialized()
        XCTAssertEqual(Array(bytes.prefix(3)), [0x0A, 0xC8, 0x01])
        XCTAssertEqual(bytes.count, 203)
        XCTAssertEqual(message.byteCount, 203)
    }

    /// A layer with no ONNX form is refused with its path in the model and its type.
    func testAnUnknownLayerIsRefusedByName() throws {
        let architecture = try Architectures.named("resnet50")
        let backbone: [(String, any Layer)] = [("stem", Sequential([("conv", try Conv2D(3, 8, kernel: 3)),
                                                                    ("odd", Mystery())]))]
        let model = try Classifier(architecture: architecture, backbone: backbone, featureChannels: 8, classes: 2,
                                   head: .linear, fusion: nil, seed: 0)
        let options = ONNXExportOptions(inputSize: 16, classNames: ["a", "b"], preprocessing: .imagenet, producerVersion: "test", doc: "")
        XCTAssertThrowsError(try ONNXExporter.export(model, options: options)) { error in
            XCTAssertEqual((error as? ONNXExportError)?.layer, "stem.odd")
            XCTAssertTrue("\(error)".contains("Mystery has no ONNX export"), "\(error)")
        }
    }

    /// An input the network cannot take fails at the layer that cannot take it.
    func testAnInputTooSmallIsRefusedAtTheLayer() throws {
        let backbone: [(String, any Layer)] = [("stem", Sequential([("conv", try Conv2D(3, 8, kernel: 5))]))]
        let model = try Classifier(architecture: Architectures.named("resnet50"), backbone: backbone, featureChannels: 8,
                                   classes: 2, head: .linear, fusion: nil, seed: 0)
        let options = ONNXExportOptions(inputSize: 4, classNames: ["a", "b"], preprocessing: .imagenet, producerVersion: "test", doc: "")
        XCTAssertThrowsError(try ONNXExporter.export(model, options: options)) { error in
            XCTAssertEqual((error as? ONNXExportError)?.layer, "stem.conv", "\(error)")
        }
    }

    func testBadOptionsAreRefused() throws {
        let model = try Architectures.named("resnet50").build(classes: 2, head: .linear)
        let good = ONNXExportOptions(inputSize: 32, classNames: ["a", "b"], preprocessing: .imagenet, producerVersion: "test", doc: "")
        var options = good
        options.opset = 12
        XCTAssertThrowsError(try ONNXExporter.export(model, options: options)) { XCTAssertTrue("\($0)".contains("opset 12")) }
        options = good
        options.classNames = ["a"]
        XCTAssertThrowsError(try ONNXExporter.export(model, options: options)) { XCTAssertTrue("\($0)".contains("1 class names")) }
        options = good
        options.temperature = 0
        XCTAssertThrowsError(try ONNXExporter.export(model, options: options)) { XCTAssertTrue("\($0)".contains("temperature")) }
    }
}

/// A layer SkinLesion can run but the exporter does not know.
private final class Mystery: Layer {
    var namedParameters: [(name: String, parameter: Parameter)] { [] }
    func forward(_ x: Tensor, mode: Mode) throws -> Tensor { x }
    func backward(_ dy: Tensor, needsInputGradient: Bool) throws -> Tensor? { dy }
}
