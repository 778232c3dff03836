import ArgumentParser
import Dermoscopy
import Distributed
import Foundation
import Interop
import Models
import NeuralNet
import Training

/// `skinlesion train`: transfer learning on a dataset, into a run directory that records
/// everything needed to reproduce or resume it.
struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Fine-tune a pretrained CNN on a dataset (or resume a stopped run with --resume).",
        discussion: "Research use only: the resulting model is not a medical device."
    )

    @Option(name: .customLong("dataset"), parsing: .singleValue, help: "Dataset root or CSV (repeat to merge several).")
    var datasets: [String] = []

    @Option(help: "Dataset format, when detection guesses wrong.")
    var format: DatasetFormat?

    @Option(help: "Split manifest from `dataset split` (default: a new lesion-grouped 70/15/15 split, saved in the run).")
    var split: String?

    @Flag(help: "Use the dataset's official train/val(/test) split instead of drawing one.")
    var officialSplit = false

    @Option(help: "Architecture (see `skinlesion models`).")
    var arch = "resnet50"

    @Option(help: "Pretrained weights to start from: safetensors or a PyTorch .pth/.pt with the architecture's own names, or a Keras .h5/.weights.h5/.keras (the head is not taken).")
    var weights: String?

    @Option(help: "Input size (default: the architecture's).")
    var imageSize: Int?

    @Option(help: "Epochs.") var epochs = 10
    @Option(help: "Batch size.") var batchSize = 32

    @Option(help: "What to train: all (head only), none (everything), or a stage to fine-tune from (e.g. layer4).")
    var freeze = "layer4"

    @Option(help: "Head-only epochs before fine-tuning from --freeze (two-stage transfer).")
    var warmupEpochs = 0

    @Option(help: "Optimizer: sgd, nesterov, adam, adamw.") var optimizer = TrainingConfig.OptimizerKind.adamw
    @Option(help: "Learning rate.") var lr: Float = 1e-3
    @Option(help: "Learning-rate factor after the warmup epochs.") var fineTuneFactor: Float = 0.1
    @Option(help: "Weight decay (never applied to BatchNorm parameters or biases).") var weightDecay: Float = 1e-4
    @Option(help: "SGD momentum.") var momentum: Float = 0.9
    @Option(help: "Schedule: cosine (with 5% warmup), onecycle, step, plateau, constant.") var schedule = "cosine"
    @Option(help: "Label smoothing.") var labelSmoothing: Float = 0
    @Option(help: "Class weights: none, inverseFrequency, effectiveNumber.") var classWeights = ClassWeighting.none
    @Option(help: "Sampling: shuffle, balanced, or oversample.") var sampler = "shuffle"
    @OptionGroup var augmentation: AugmentationArguments
    @Option(help: "Validation metric that picks the best epoch and drives early stopping: balanced-accuracy, accuracy, macro-auc, macro-f1 or loss.")
    var monitor = MonitoredMetric.balancedAccuracy
    @Option(help: "Early stopping: epochs without a better validation --monitor metric.") var patience = 5
    @Option(help: "Keep an exponential moving average of the weights with this decay (e.g. 0.999).") var ema: Float?
    @Flag(help: ArgumentHelp("Ramp the EMA's decay up over the first steps: min(decay, (1 + step) / (10 + step)), as TensorFlow's EMA does.",
                             discussion: "Without it the average starts at the initial weights and carries them for about 1/(1 − decay) steps."))
    var emaWarmup = false
    @Option(help: "Clip the gradient norm to this value.") var gradientClip: Float?
    @Option(help: "Seed for split, initialization, shuffling, augmentation and dropout.") var seed: UInt64 = 0
    @Option(help: "Checkpoint every N steps as well as at each epoch end.") var checkpointEvery: Int?
    @Option(help: "Data-loader threads.") var loaderThreads = 1
    @Flag(inversion: .prefixedNo, help: "With --freeze all and --augment none, compute the frozen features once and train the head on them.")
    var featureCache = true
    @Option(help: "Compute threads (default: all cores).") var threads: Int?
    @OptionGroup var metadata: MetadataArguments
    @Flag(help: "Under mpirun: BatchNorm statistics over the whole global batch instead of each rank's share.")
    var syncBn = false
    @Flag(help: "BatchNorm keeps its running statistics while training (Keras-style fine-tuning); the result then does not depend on the rank count.")
    var frozenBn = false
    @Option(help: ArgumentHelp(
        "Number format of training: fp32, or bf16 mixed precision.",
        discussion: "bf16 runs the convolutions and inner products of the training forward and backward in bf16 (BatchNorm, "
            + "activations and pooling follow), with FP32 master weights, weight gradients, optimizer state, loss and softmax; "
            + "validation and the saved model stay FP32. It needs AVX512_BF16 (oneDNN avx512_core_bf16); on other AVX-512 CPUs "
            + "SKINLESION_BF16_EMULATION=1 runs oneDNN's emulation, the same numbers several times slower, to check quality."))
    var precision = TrainingPrecisionArgument(.fp32)
    @Option(help: ArgumentHelp(
        "Number format the frozen stages (below --freeze; the whole backbone with --freeze all) run at while training: fp32, bf16 or int8.",
        discussion: "bf16 runs them through bf16 inference (any architecture; AVX512_BF16, or SKINLESION_BF16_EMULATION=1 on other "
            + "AVX-512 CPUs). int8 calibrates them on --frozen-calibration-images training images first and runs them through the "
            + "int8 inference path of `skinlesion quantize` (ResNet-50 only). The trainable stages train at --precision from FP32 "
            + "inputs; validation and the saved model stay FP32."))
    var frozenPrecision = Precision.fp32
    @Option(help: "Training images --frozen-precision int8 calibrates on (seeded choice, no augmentation; default 256, at most the split).")
    var frozenCalibrationImages: Int?

    @Option(name: .customLong("data-license"), parsing: .singleValue,
            help: "The datasets' licence, recorded in the model file and card (once for all, or once per --dataset in order; default: detected from the format, e.g. CC BY-NC 4.0 for HAM10000, ISIC and DermaMNIST).")
    var dataLicenses: [String] = []

    @Option(help: "Run directory to write (config, split, logs, best model, checkpoints).")
    var output: String?

    @Option(help: "Continue the stopped run in this directory exactly where it stopped.")
    var resume: String?

    @Option(help: "Stop once this many epochs are complete, validated and checkpointed; --resume goes on from there as if the run had never stopped (the schedule still spans --epochs).")
    var stopAfterEpochs: Int?

    @Option(help: "Cross-validation: one model per lesion-grouped fold, in fold-N/ run directories under --output, then out-of-fold predictions, mean ± sd metrics and an ensemble.json.")
    var folds: Int?

    @Option(help: "With --folds (or --resume of a cross-validation): train only this fold (0-based), e.g. one process per fold.")
    var fold: Int?

    func validate() throws {
        guard (resume == nil) != (output == nil) else { throw ValidationError("give either --output DIR for a new run or --resume DIR") }
        if resume == nil && datasets.isEmpty { throw ValidationError("--dataset is required for a new run") }
        if resume != nil && !dataLicenses.isEmpty { throw ValidationError("--data-license is recorded when a run starts; a resumed run keeps it") }
        guard dataLicenses.count <= 1 || dataLicenses.count == datasets.count else {
            throw ValidationError("give --data-license once for all datasets or once per --dataset (\(datasets.count)), not \(dataLicenses.count) times")
        }
        if let empty = dataLicenses.first(where: { $0.trimmingCharacters(in: .whitespaces).isEmpty || $0.utf8.count > 256 }) {
            throw ValidationError("--data-license '\(empty.prefix(40))' must name a licence in 1…256 bytes, e.g. 'CC BY 4.0'")
        }
        if let stopAfterEpochs, stopAfterEpochs < 1 { throw ValidationError("--stop-after-epochs must be at least 1, got \(stopAfterEpochs)") }
        if frozenCalibrationImages != nil && frozenPrecision != .int8 {
            throw ValidationError("--frozen-calibration-images is for --frozen-precision int8 (this run's frozen stages run in \(frozenPrecision.rawValue))")
        }
        if let folds, folds < 2 { throw ValidationError("--folds needs at least 2 folds, got \(folds)") }
        if folds != nil, split != nil || officialSplit { throw ValidationError("--folds draws its own lesion-grouped folds; drop --split/--official-split") }
    }

    /// Under mpirun every rank runs this; rank 0 alone writes the run directory and prints.
    func run() throws {
        let world = try World.communicator()
        try world.run { try train(world) }
    }

    private func train(_ world: any Communicator) throws {
        if let threads { Engine.threads = threads }
        let log: (String) -> Void = { FileHandle.standardError.write(Data(($0 + "\n").utf8)) }
        let writes = world.isRoot
        let run: RunDirectory
        let settings: RunSettings
        if let resume {
            run = RunDirectory(URL(fileURLWithPath: resume))
            settings = try RunSettings.read(from: run)
        } else {
            run = RunDirectory(URL(fileURLWithPath: output!))
            guard run.existingCheckpoints().isEmpty else {
                throw ValidationError("\(run.url.path) already holds a run; use --resume \(run.url.path) or another --output")
            }
            var fresh = RunSettings(config: try makeConfig(), dataset: datasets, format: format?.rawValue, weights: weights,
                                    commandLine: CommandLine.arguments, dataLicenses: dataLicenses.isEmpty ? nil : dataLicenses)
            fresh.folds = folds
            settings = fresh
            if writes {
                try run.create()
                try settings.write(to: run)
                try AtomicFile.write(Data("skinlesion \(SkinLesion.version)\n\(Engine.libraryVersion)\nisa \(CPUISA.effective.name)\n".utf8),
                                     to: run.url.appendingPathComponent("versions.txt"))
            }
        }
        var options = DatasetOptions()
        options.format = settings.format.flatMap(DatasetFormat.init(rawValue:))
        var dataset = try DatasetLoader.load(merging: settings.dataset.map { URL(fileURLWithPath: $0) }, options: options)
        dataset.licenses = try settings.licenses(of: dataset)
        for entry in dataset.licenses where writes { log("data licence: \(entry.dataset): \(entry.license) (\(entry.basis))") }
        let manifest: SplitManifest
        if !writes {
            // Rank 0 draws or copies the split (below); every rank trains on the file it wrote.
            try world.barrier()
            manifest = try SplitManifest.read(from: run.split)
        } else if FileManager.default.fileExists(atPath: run.split.path) {
            manifest = try SplitManifest.read(from: run.split)
        } else if let k = settings.folds {
            manifest = try Splitter.kFold(dataset, k: k, groupBy: .lesion, seed: settings.config.seed)
            try manifest.write(to: run.split)
        } else if let split {
            manifest = try SplitManifest.read(from: URL(fileURLWithPath: split))
            try manifest.write(to: run.split)
        } else {
            manifest = try Splitter.split(dataset, plan: SplitPlan(seed: settings.config.seed, useOfficialSplit: officialSplit))
            try manifest.write(to: run.split)
        }
        if writes { try world.barrier() }
        let weights = try settings.weights.map { path in
            let source = try WeightFiles.open(URL(fileURLWithPath: path))
            let state = try source.stateDict(for: Architectures.named(settings.config.architecture))
            if writes { log("weights: \(path) (\(source.format), \(state.entries.count) tensors)") }
            return state
        }
        if let k = settings.folds {
            return try crossValidate(k, root: run, settings: settings, dataset: dataset, folds: manifest, weights: weights,
                                     world: world, log: log)
        }
        guard fold == nil else { throw ValidationError("--fold goes with --folds") }
        let trainer = try Trainer(config: settings.config, dataset: dataset, manifest: manifest, run: run,
                                  weights: weights, communicator: world, log: log)
        let progress = try trainer.fit(stopAfterEpochs: stopAfterEpochs)
        guard writes else { return }
        if !progress.finished {
            log("stopped after epoch \(progress.epoch) of \(settings.config.epochs) (--stop-after-epochs); continue with "
                + "skinlesion train --resume \(run.url.path)")
        }
        let best = progress.bestMetric.map { String(format: "%.4f", $0) } ?? "n/a"
        print("best validation \(settings.config.monitor.label) \(best) at epoch \((progress.bestEpoch ?? 0) + 1); model: \(run.bestModel.path)")
    }

    /// Each fold (or only `--fold`) as a normal run in `fold-N/`, resumed where it stopped; once
    /// every fold has its best model, the out-of-fold summary and the fold ensemble.
    private func crossValidate(_ k: Int, root: RunDirectory, settings: RunSettings, dataset: Dataset, folds: SplitManifest,
                               weights: StateDict?, world: any Communicator, log: @escaping (String) -> Void) throws {
        if let fold, !(0..<k).contains(fold) { throw ValidationError("--fold must be in 0...\(k - 1), got \(fold)") }
        for index in fold.map({ [$0] }) ?? Array(0..<k) {
            let run = CrossValidation.runDirectory(root.url, fold: index)
            let manifest = try CrossValidation.manifest(folds, fold: index)
            if world.isRoot && !FileManager.default.fileExists(atPath: run.config.path) {
                try run.create()
                var single = settings
                single.folds = nil
                try single.write(to: run)
                try manifest.write(to: run.split)
            }
            if world.isRoot { log("fold \(index + 1)/\(k): \(run.url.path)") }
            let trainer = try Trainer(config: settings.config, dataset: dataset, manifest: manifest, run: run, weights: weights,
                                      communicator: world, log: log)
            try trainer.fit()
        }
        guard world.isRoot else { return }
        let missing = (0..<k).filter { !FileManager.default.fileExists(atPath: CrossValidation.runDirectory(root.url, fold: $0).bestModel.path) }
        guard missing.isEmpty else {
            print("fold \(fold.map { "\($0)" } ?? "") done; folds \(missing.map(String.init).joined(separator: ", ")) still to train "
                  + "(then `train --resume \(root.url.path)` writes the summary)")
            return
        }
        let summary = try CrossValidation.summarize(root: root.url, folds: folds, dataset: dataset)
        print("\(k)-fold cross-validation, \(summary.images) out-of-fold images: accuracy \(summary.accuracy.formatted), "
              + "balanced accuracy \(summary.balancedAccuracy.formatted), macro AUC \(summary.macroAUC?.formatted ?? "n/a"); "
              + "pooled out-of-fold balanced accuracy \(String(format: "%.4f", summary.pooledBalancedAccuracy))")
        print("wrote \(root.url.path)/oof.csv, cv.json and ensemble.json (evaluate --ensemble \(root.url.path)/ensemble.json)")
    }

    private func makeConfig() throws -> TrainingConfig {
        var config = TrainingConfig()
        config.architecture = arch
        config.imageSize = imageSize
        config.epochs = epochs
        config.batchSize = batchSize
        switch freeze {
        case "all": config.freeze = .all
        case "none": config.freeze = .none
        default: config.freeze = .until(freeze.replacingOccurrences(of: "until:", with: ""))
        }
        config.warmupEpochs = warmupEpochs
        config.optimizer = optimizer
        config.learningRate = lr
        config.fineTuneFactor = fineTuneFactor
        config.weightDecay = weightDecay
        config.momentum = momentum
        switch schedule {
        case "cosine": config.schedule = .cosine(warmupFraction: 0.05, minFactor: 0.01)
        case "onecycle": config.schedule = .oneCycle
        case "step": config.schedule = .step(epochs: max(1, epochs / 3), gamma: 0.1)
        case "plateau": config.schedule = .plateau(patience: 2)
        case "constant": config.schedule = .constant
        default: throw ValidationError("--schedule must be cosine, onecycle, step, plateau or constant, got '\(schedule)'")
        }
        config.labelSmoothing = labelSmoothing
        config.classWeighting = classWeights
        switch sampler {
        case "shuffle": config.sampler = .shuffle
        case "balanced": config.sampler = .balanced
        case "oversample": config.sampler = .oversample(factor: 1)
        default: throw ValidationError("--sampler must be shuffle, balanced or oversample, got '\(sampler)'")
        }
        config.augmentation = try augmentation.config()
        config.patience = patience
        config.monitor = monitor
        config.featureCache = featureCache
        config.emaDecay = ema
        config.emaWarmup = emaWarmup ? true : nil
        config.gradientClip = gradientClip
        config.seed = seed
        config.checkpointEverySteps = checkpointEvery
        config.loaderThreads = loaderThreads
        config.metadata = try metadata.config(epochs: epochs)
        config.syncBatchNorm = syncBn ? true : nil
        config.frozenBatchNorm = frozenBn ? true : nil
        config.precision = precision.precision == .fp32 ? nil : precision.precision
        config.frozenPrecision = frozenPrecision
        config.frozenCalibrationImages = frozenCalibrationImages
        do { try config.validate() } catch { throw ValidationError("\(error)") }
        _ = try Architectures.named(arch)
        return config
    }
}

extension TrainingConfig.OptimizerKind: ExpressibleByArgument {}
extension ClassWeighting: ExpressibleByArgument {}
extension MonitoredMetric: ExpressibleByArgument {}
