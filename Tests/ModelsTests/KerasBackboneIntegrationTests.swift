import XCTest
@testable import Inference
@testable import Models
import NeuralNet
import TestSupport

/// The new backbones inside the Classifier: a full training step, fine-tuning from a stage,
/// and Grad-CAM.
final class KerasBackboneIntegrationTests: XCTestCase {
    /// A whole-network training step reaches every weight and the input; the forward in
    /// training mode agrees in shape with inference.
    func testFullTrainingStepReachesEveryWeight() throws {
        for name in ["vgg19-notop", "resnet50v2", "densenet121"] {
            let model = try Architectures.named(name).build(classes: 3, head: .mlp(hidden: [8], dropout: 0), seed: 1)
            let x = try randomTensor([2, 3, 40, 40], seed: 2)
            let loss = try SoftmaxCrossEntropy()(logits: model.forward(x, mode: .training), labels: [0, 2])
            XCTAssertTrue(loss.loss.isFinite, name)
            let dx = try XCTUnwrap(model.backward(loss.gradient, needsInputGradient: true), name)
            XCTAssertEqual(dx.shape, x.shape, name)
            let missing = model.namedParameters.filter { $0.parameter.kind == .weight && $0.parameter.grad == nil }.map(\.name)
            XCTAssertEqual(missing, [], name)
        }
    }

    /// Fine-tuning from the last stage leaves everything below frozen and without gradients.
    func testTrainingFromTheLastStage() throws {
        for (name, stage) in [("resnet50v2", "stages.3"), ("densenet121", "features.denseblock4"), ("vgg19-notop", "features.28")] {
            let model = try Architectures.named(name).build(classes: 3, head: .mlp(hidden: [8], dropout: 0), seed: 1)
            try model.trainFrom(stage: stage)
            let x = try randomTensor([2, 3, 40, 40], seed: 2)
            let loss = try SoftmaxCrossEntropy()(logits: model.forward(x, mode: .training), labels: [1, 2])
            XCTAssertNil(try model.backward(loss.gradient, needsInputGradient: false), name)
            let first = model.stages.firstIndex(of: stage)!
            let trained = Set(model.stages[first...])
            for (parameterName, p) in model.namedParameters where p.kind == .weight {
                let isTrained = trained.contains { parameterName.hasPrefix($0 + ".") }
                XCTAssertEqual(p.grad != nil, isTrained, "\(name): \(parameterName)")
            }
        }
    }

    func testCamLayersGiveFeatureMapsAndInferenceLogits() throws {
        let cases: [(String, Int, [Int])] = [("vgg19-notop", 64, [512, 4, 4]), ("resnet50v2", 64, [2048, 2, 2]),
                                             ("densenet121", 64, [1024, 2, 2]), ("vgg19", 224, [512, 14, 14]),
                                             ("inceptionv3", 139, [2048, 3, 3]), ("xception", 96, [2048, 3, 3])]
        for (name, size, map) in cases {
            let model = try Architectures.named(name).build(classes: 5, head: .standard, seed: 1)
            try randomizeBatchNorms(model, seed: 2)
            XCTAssertTrue(model.stages.contains(model.architecture.camLayer), name)
            let x = try randomTensor([1, 3, size, size], seed: 3)
            let pass = try GradCAM.backpropagate(model: model, input: x, classIndex: 3)
            XCTAssertEqual([pass.channels, pass.height, pass.width], map, name)
            assertClose(pass.logits, try model.forward(x, mode: .inference).toArray(), tolerance: 1e-5, name)
            XCTAssertTrue(pass.gradient.contains { $0 != 0 }, "\(name): no gradient reached \(model.architecture.camLayer)")
        }
    }
}
