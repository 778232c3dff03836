import XCTest
@testable import Models
@testable import NeuralNet
import TestSupport

/// What every Keras-topology architecture must do alike: count its parameters as Keras does
/// (the table), map onto the real Keras layer list, and give ONNX Runtime's logits
/// for the same random weights (BatchNorm statistics randomized). Architecture-specific
/// checks (names, strides, blocks against finite differences) live in each one's own tests.
final class KerasArchitectureTests: XCTestCase {
    /// Keras's `count_params()` with the 1000-class top: issue #6's table, and #10's ResNet50.
    func testPublishedParameterCountsMatchKeras() throws {
        let table = [("resnet50-keras", 25_636_712), ("vgg19", 143_667_240), ("resnet50v2", 25_613_800), ("densenet121", 8_062_504),
                     ("inceptionv3", 23_851_784), ("xception", 22_910_480)]
        for (name, count) in table {
            let model = try Architectures.named(name).build(classes: 1000, head: .linear)
            XCTAssertEqual(model.publishedParameterCount, count, name)
            XCTAssertEqual(try KerasLayerFixture.load(name).total_params, count, "\(name): the fixture's Keras")
        }
    }

    /// `Architecture.kerasLayers`, what weight import uses, against pip keras's layer lists;
    /// only vgg19-notop's classifier has no Keras counterpart (Keras's notop has no head).
    func testKerasMappingsCoverKerasLayerLists() throws {
        let keras = Architectures.all.filter { $0.kerasLayers != nil }.map(\.name)
        XCTAssertEqual(keras, ["resnet50-keras", "vgg19", "vgg19-notop", "resnet50v2", "densenet121", "inceptionv3", "xception"])
        for architecture in Architectures.all {
            guard let mapping = architecture.kerasLayers else { continue }
            let model = try architecture.build(classes: 1000, head: .linear)
            let except = architecture.name == "vgg19-notop" ? ["classifier.weight", "classifier.bias"] : []
            try KerasLayerFixture.load(architecture.name).check(mapping, covers: model, except: except)
        }
    }

    /// The native input size once per architecture, with the ImageNet head.
    func testNativeSizeLogitsMatchOnnxRuntime() throws {
        for (name, seed) in [("resnet50-keras", 5), ("resnet50v2", 1), ("densenet121", 2), ("inceptionv3", 3),
                             ("xception", 4)] as [(String, UInt64)] {
            let model = try Architectures.named(name).build(classes: 1000, head: .linear, seed: seed)
            try randomizeBatchNorms(model, seed: seed + 10)
            let error = try randomWeightParityError(model, batch: 2, size: model.architecture.inputSize, seed: seed + 20)
            XCTAssertLessThanOrEqual(error, 1e-4, name)
        }
    }

    /// Smaller inputs, odd and even, where every stage keeps a spatial extent, with the
    /// default MLP head: ResNet50 and ResNet50V2 at 65 (padding and the strided blocks' rounding), Xception
    /// at 96 (its "same" pools see 45, 23, 12, 6).
    func testSmallInputsWithStandardHeadMatchOnnxRuntime() throws {
        let table: [(String, Int, Int)] = [("vgg19-notop", 64, 2), ("resnet50-keras", 65, 2), ("resnet50v2", 65, 3), ("densenet121", 64, 3),
                                           ("inceptionv3", 139, 2), ("xception", 96, 2)]
        for (index, (name, size, batch)) in table.enumerated() {
            let seed = UInt64(30 + index)
            let model = try Architectures.named(name).build(classes: 7, head: .standard, seed: seed)
            try randomizeBatchNorms(model, seed: seed + 10)
            XCTAssertLessThanOrEqual(try randomWeightParityError(model, batch: batch, size: size, seed: seed + 20), 1e-4, name)
        }
    }
}
