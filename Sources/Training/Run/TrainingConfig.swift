import Dermoscopy
import Inference
import Models
import NeuralNet

/// Everything that decides a training run, saved as `config.json` in the run directory so the
/// run can be resumed or reproduced from it alone.
public struct TrainingConfig: Codable, Sendable, Equatable {
    public enum Freeze: Codable, Sendable, Equatable {
        /// Train the head only (frozen feature extractor).
        case all
        /// Train from this stage up (`layer4`, `_blocks.12`, …).
        case until(String)
        /// Fine-tune everything.
        case none

        /// `.all` as the stage it trains from (`head`, the head's name); the others as they are.
        func orHead(_ head: String) -> Freeze { self == .all ? .until(head) : self }
    }

    public enum OptimizerKind: String, Codable, Sendable, CaseIterable {
        case sgd, nesterov, adam, adamw
    }

    public enum Schedule: Codable, Sendable, Equatable {
        case constant
        /// Linear warmup over `warmupFraction` of the steps, then cosine to `minFactor`.
        case cosine(warmupFraction: Float, minFactor: Float)
        case oneCycle
        /// Multiply by `gamma` every `epochs` epochs.
        case step(epochs: Int, gamma: Float)
        /// Divide by 10 when the validation metric has not improved for `patience` epochs.
        case plateau(patience: Int)
    }

    public var architecture = "resnet50"
    public var head = HeadConfig.standard
    public var imageSize: Int?
    public var epochs = 10
    public var batchSize = 32
    public var freeze = Freeze.until("layer4")
    /// Two-stage transfer: this many head-only epochs first, then `freeze` at
    /// `learningRate × fineTuneFactor` (BatchNorm statistics of frozen parts stay frozen).
    public var warmupEpochs = 0
    public var fineTuneFactor: Float = 0.1
    public var optimizer = OptimizerKind.adamw
    public var learningRate: Float = 1e-3
    public var momentum: Float = 0.9
    public var weightDecay: Float = 1e-4
    public var schedule = Schedule.cosine(warmupFraction: 0.05, minFactor: 0.01)
    public var labelSmoothing: Float = 0
    public var classWeighting = ClassWeighting.none
    public var sampler = EpochSampler.Strategy.shuffle
    public var augmentation = AugmentationConfig.dermoscopy
    /// The validation metric that picks the best epoch, early stopping and reduce-on-plateau.
    public var monitor = MonitoredMetric.balancedAccuracy
    /// Stop after this many epochs without a better `monitor` value.
    public var patience: Int? = 5
    public var emaDecay: Float?
    /// The EMA's decay ramps up over the first steps (`ExponentialMovingAverage.warmup`);
    /// optional so that runs from before it resume.
    public var emaWarmup: Bool?
    public var gradientClip: Float?
    public var seed: UInt64 = 0
    public var loaderThreads = 1
    /// Also checkpoint every this many steps (always at the end of each epoch).
    public var checkpointEverySteps: Int?
    public var keepCheckpoints = 2
    /// Allows `cachesFrozenFeatures`.
    public var featureCache = true
    /// Patient metadata fused with the image features; nil trains on images alone.
    public var metadata: MetadataTraining?
    /// Under `mpirun`: BatchNorm statistics over the whole global batch (`--sync-bn`) rather
    /// than each rank's share. Optional so that older run directories still resume.
    public var syncBatchNorm: Bool?
    /// Every BatchNorm keeps its running statistics while training (`--frozen-bn`, Keras-style
    /// fine-tuning): the result then does not depend on how the batch is split over ranks.
    public var frozenBatchNorm: Bool?

    /// The number format of training (`--precision`): nil or fp32, or bf16 mixed precision
    /// (convolutions and inner products in bf16, FP32 master weights, optimizer state, loss and
    /// softmax). Validation and the saved model stay FP32. Optional so that older run
    /// directories still resume.
    public var precision: Precision?

    /// The number format the frozen stages (below `freeze`) run at while training
    /// (`--frozen-precision`): nil or fp32 as always, int8 through the int8 inference path
    /// after calibrating on `frozenCalibrationImages` training images. The trainable part,
    /// the loss, the optimizer, validation and the saved model stay FP32. Optional so that
    /// older run directories still resume.
    public var frozenPrecision: Precision?
    /// Training images `--frozen-precision int8` calibrates on (nil: 256, or the whole
    /// split when it is smaller).
    public var frozenCalibrationImages: Int?

    public init() {}

    /// Images `--frozen-precision int8` calibrates on when `frozenCalibrationImages` is nil.
    public static let defaultFrozenCalibrationImages = 256

    /// Head-only training without augmentation sees the same frozen features every epoch, so
    /// the trainer computes them once (`FeatureCache`) and trains the head on them.
    /// `featureCache` turns it off (to save the memory: 4 bytes × feature width per image).
    public var cachesFrozenFeatures: Bool { featureCache && freeze == .all && augmentation.isIdentity }

    /// Rejects values that would fail later, naming the field.
    public func validate() throws {
        func require(_ ok: Bool, _ message: String) throws {
            if !ok { throw TrainingError.invalidConfig(message) }
        }
        try require(epochs >= 1, "epochs must be at least 1, got \(epochs)")
        try require(batchSize >= 2, "batch size must be at least 2 (BatchNorm trains on batch statistics), got \(batchSize)")
        try require(learningRate > 0 && learningRate.isFinite, "learning rate must be positive, got \(learningRate)")
        try require((0...epochs).contains(warmupEpochs), "warmup epochs must be in 0...\(epochs), got \(warmupEpochs)")
        try require(fineTuneFactor > 0, "fine-tune factor must be positive, got \(fineTuneFactor)")
        try require((0..<1).contains(labelSmoothing), "label smoothing must be in [0, 1), got \(labelSmoothing)")
        try require(patience.map { $0 >= 1 } ?? true, "patience must be at least 1")
        try require(emaDecay.map { (0..<1).contains($0) } ?? true, "EMA decay must be in [0, 1)")
        try require(emaWarmup != true || emaDecay != nil, "EMA warm-up needs an EMA (--ema DECAY)")
        try require(gradientClip.map { $0 > 0 } ?? true, "gradient clip must be positive")
        try require(loaderThreads >= 1 && keepCheckpoints >= 1, "loader threads and kept checkpoints must be at least 1")
        try require(imageSize.map(ModelLimits.inputSize.contains) ?? true,
                    "image size must be in \(ModelLimits.inputSize.lowerBound)…\(ModelLimits.inputSize.upperBound) (the model file's inputSize bound), got \(imageSize ?? 0)")
        try augmentation.validate()
        try metadata?.validate(epochs: epochs)
        try validatePrecision()
        try validateFrozenPrecision()
    }

    /// `--precision` trains in fp32 or bf16, the latter on a CPU that runs it (`isa`, by
    /// default this one's); int8 is an inference format.
    public func validatePrecision(isa: CPUISA = .effective) throws {
        guard let precision else { return }
        do { try precision.requireTrainable(by: isa) } catch NeuralNetError.invalidArgument(let message) {
            throw TrainingError.invalidConfig(message)
        }
    }

    /// `--frozen-precision` needs a frozen part and a CPU that runs the format (`isa`, by default
    /// this one's); int8 also needs an architecture the int8 quantizer covers.
    public func validateFrozenPrecision(isa: CPUISA = .effective) throws {
        guard let precision = frozenPrecision, precision != .fp32 else { return }
        let option = "--frozen-precision"
        guard freeze != .none else {
            throw TrainingError.invalidConfig("\(option) \(precision.rawValue) runs the frozen stages in \(precision.rawValue), "
                                              + "but --freeze none trains every stage: there is no frozen part (use --freeze layer4 or all)")
        }
        let int8Offered = Quantizer.supportedArchitectures.contains(architecture)
        do {
            try precision.requireSupported(by: isa, option: option, int8Offered: int8Offered)
        } catch NeuralNetError.invalidArgument(let message) {
            throw TrainingError.invalidConfig(message)
        }
        guard precision == .int8 else { return }
        guard int8Offered else {
            throw TrainingError.invalidConfig("\(option) int8 runs the frozen stages through the int8 quantizer, which covers "
                                              + "\(Quantizer.supportedArchitectures.joined(separator: ", ")); \(architecture) is not "
                                              + "among them (use \(option) fp32)")
        }
        let bound = ModelLimits.calibrationImages
        guard frozenCalibrationImages.map(bound.contains) ?? true else {
            throw TrainingError.invalidConfig("--frozen-calibration-images must be in \(bound.lowerBound)…\(bound.upperBound), "
                                              + "got \(frozenCalibrationImages ?? 0)")
        }
    }
}

public enum TrainingError: Error, CustomStringConvertible, Equatable {
    case invalidConfig(String)
    case nonFiniteLoss(epoch: Int, step: Int, batch: Int, loss: Float)
    case badRun(String)

    public var description: String {
        switch self {
        case .invalidConfig(let message): return "training config: \(message)"
        case .nonFiniteLoss(let epoch, let step, let batch, let loss):
            return "the loss became \(loss) at epoch \(epoch + 1), step \(step) (batch \(batch + 1) of the epoch): "
                + "lower the learning rate, enable --gradient-clip, or check the data; the last checkpoint is intact"
        case .badRun(let message): return message
        }
    }
}
