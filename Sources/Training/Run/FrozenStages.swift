import Models
import NeuralNet

/// The frozen stages of `train --frozen-precision bf16|int8`: the top-level modules below the
/// `--freeze` stage (the whole backbone with `--freeze all`), which training only runs forward
/// with BatchNorm on its running statistics, so they may run at an inference precision while
/// the trainable stages train at theirs. The network hands the trainable stages FP32
/// (`Sequential.skipsFrozenPrefix`), whatever the frozen ones ran at.
///
/// Their FP32 parameters stay untouched: checkpoints and the saved model are ordinary FP32, and
/// validation runs them in FP32, as the saved model will run.
protocol FrozenStages {
    /// The modules below the first trainable stage.
    var modules: [any Layer] { get }
    /// What training steps run them at.
    var precision: Precision { get }
    /// How the model card says they were trained.
    var summary: String { get }
}

extension FrozenStages {
    /// Runs the frozen stages at `precision` for the training steps that follow.
    func runForTraining() throws { try run(at: precision) }

    /// Runs them in FP32, as the saved model will: for validation.
    func runForValidation() throws { try run(at: .fp32) }

    func run(at precision: Precision) throws {
        for module in modules { try module.run(at: precision) }
    }

    /// The top-level modules below `stage`, refused when there are none (`stage` is the first).
    static func modules(of model: Classifier, below stage: String, precision: Precision) throws -> [any Layer] {
        let modules = try model.modules(before: stage)
        guard !modules.isEmpty else {
            throw TrainingError.invalidConfig("--frozen-precision \(precision.rawValue): nothing is frozen below \(stage), the first "
                                              + "stage; there is no frozen part to run in \(precision.rawValue)")
        }
        return modules
    }
}

/// `--frozen-precision bf16`: the frozen stages run bf16 inference (each ConvBN's convolution
/// with BatchNorm folded, in bf16; pooling, sums and concatenations follow). Nothing to
/// calibrate, and every architecture can.
struct FrozenBF16Stages: FrozenStages {
    let modules: [any Layer]
    var precision: Precision { .bf16 }
    var summary: String { "frozen stages trained through bf16 (saved in FP32)" }

    init(model: Classifier, below stage: String) throws {
        modules = try Self.modules(of: model, below: stage, precision: .bf16)
    }
}
