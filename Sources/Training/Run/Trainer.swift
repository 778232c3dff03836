import Dermoscopy
import Distributed
import Foundation
import Inference
import Models
import NeuralNet

/// Fine-tunes a classifier on the train split of a manifest, validating on its val split after
/// every epoch, keeping the best model by the monitored metric (balanced accuracy, the ISIC
/// metric, unless configured otherwise), and
/// checkpointing so that a stopped run resumes exactly: same weights, optimizer state,
/// schedule, sampler order, augmentations and dropout masks as if it had never stopped.
///
/// Under `mpirun` every rank runs one Trainer over its `communicator` (data parallelism): each
/// computes its share of every global batch, the gradients are averaged, and every rank takes
/// the same step; rank 0 alone logs and writes the run directory.
public final class Trainer {
    public let config: TrainingConfig
    public let run: RunDirectory
    public let model: Classifier
    public let classes: [String]
    let train: [LoaderSample]
    let validation: [LoaderSample]
    let pipeline: ImagePipeline
    let optimizer: any Optimizer
    let ema: ExponentialMovingAverage?
    let loss: SoftmaxCrossEntropy
    /// The loss's class weights, which also weigh each rank's share of a step.
    private let classWeights: [Float]?
    private let parallel: DataParallel
    /// The train and val splits' encoded metadata, for a fusion model.
    let metadata: (train: MetadataBatches, validation: MetadataBatches)?
    public private(set) var progress = TrainingProgress()
    /// Frozen features of the train and val splits, when `config.cachesFrozenFeatures`.
    private var cachedFeatures: (train: FeatureCache, validation: FeatureCache)?
    /// The stages below `--freeze`, with `--frozen-precision bf16|int8` (set up by `fit`).
    private var frozenStages: (any FrozenStages)?
    private var records: [EpochRecord] = []
    /// Split sizes, class counts and protocol, for the model card.
    private let dataSummary: (datasets: [String], protocol: String, perSplit: [String: Int], classCounts: [String: Int],
                              licenses: [DataLicense])
    private let log: (String) -> Void

    /// Builds the model (from `weights` when given, else randomly initialised with a warning)
    /// and, when `run` already holds a checkpoint, restores the latest one. `weights` is read
    /// by the caller from any weight file (`Interop.WeightFiles`); the head is never taken from it.
    /// Every rank of `communicator` builds the same trainer; only rank 0's `log` is used.
    public init(config: TrainingConfig, dataset: Dataset, manifest: SplitManifest, run: RunDirectory, weights: StateDict?,
                communicator: any Communicator = SingleProcess(), log: @escaping (String) -> Void) throws {
        try config.validate()
        self.config = config
        self.run = run
        self.log = communicator.isRoot ? log : { _ in }
        parallel = try DataParallel(communicator: communicator, globalBatch: config.batchSize)
        let log = self.log
        let architecture = try Architectures.named(config.architecture)
        let classNames = manifest.classes
        let trainRecords = try manifest.records(in: "train", of: dataset)
        let validationRecords = try manifest.records(in: "val", of: dataset)
        if let settings = config.metadata {
            let spec = try MetadataSpecBuilder.derive(names: settings.features, from: trainRecords)
            func batches(_ records: [DatasetRecord]) throws -> MetadataBatches {
                try MetadataBatches(spec: spec, values: records.map(\.metadata), imageIDs: records.map(\.imageID))
            }
            metadata = (try batches(trainRecords), try batches(validationRecords))
            log("metadata: \(spec.features.map { "\($0.name) (\($0.column), \($0.numeric != nil ? "numeric" : "\($0.categorical!.categories.count) categories"))" }.joined(separator: ", ")) → \(spec.width) inputs")
            if let unknown = metadata?.validation.unknown, !unknown.isEmpty {
                log("metadata: \(unknown.count) validation value(s) outside the training split's categories, encoded as unknown: "
                    + unknown.prefix(5).joined(separator: "; ") + (unknown.count > 5 ? "; …" : ""))
            }
        } else {
            metadata = nil
        }
        let fusion = metadata.map { batches in
            MetadataFusion(inputs: batches.train.spec.width, hidden: config.metadata!.hidden, dropout: config.metadata!.branchDropout)
        }
        let model = try architecture.build(classes: classNames.count, head: config.head, fusion: fusion, seed: config.seed)
        if let weights {
            try model.load(from: weights, skipping: [architecture.headName, MetadataFusion.branchName])
        } else {
            log("warning: no --weights given: \(architecture.name) starts from random initialization, "
                + "which needs far more data and epochs than transfer learning")
        }
        let index = Dictionary(uniqueKeysWithValues: classNames.enumerated().map { ($1, $0) })
        func samples(_ records: [DatasetRecord]) throws -> [LoaderSample] {
            try records.map { record in
                guard let label = index[record.label] else {
                    throw TrainingError.badRun("image \(record.imageID) has label '\(record.label)', not one of \(classNames)")
                }
                return LoaderSample(url: dataset.url(of: record), label: label)
            }
        }
        let train = try samples(trainRecords)
        let validation = try samples(validationRecords)
        guard train.count >= config.batchSize, !validation.isEmpty else {
            throw TrainingError.badRun("the split has \(train.count) training and \(validation.count) validation images; "
                                       + "training needs at least one batch (\(config.batchSize)) and one validation image")
        }
        if case .until(let stage) = config.freeze, !model.stages.contains(stage) {
            throw TrainingError.invalidConfig("unknown stage '\(stage)' for \(architecture.name); stages are "
                                              + model.stages.joined(separator: ", "))
        }
        dataSummary = (dataset.licenses.map(\.dataset), manifest.plan,
                       Dictionary(grouping: manifest.entries, by: \.split).mapValues(\.count),
                       Dictionary(grouping: train, by: \.label).reduce(into: [:]) { $0[classNames[$1.key]] = $1.value.count },
                       dataset.licenses)
        self.model = model
        self.classes = classNames
        self.train = train
        self.validation = validation
        guard let normalization = Normalization(rawValue: architecture.preprocessing.mode) else {
            throw TrainingError.badRun("unknown preprocessing '\(architecture.preprocessing.mode)' for \(architecture.name)")
        }
        pipeline = ImagePipeline(inputSize: config.imageSize ?? architecture.inputSize, normalization: normalization,
                                 augmentation: config.augmentation)
        optimizer = try Self.makeOptimizer(config)
        ema = try config.emaDecay.map { try ExponentialMovingAverage(model.namedParameters, decay: $0, warmup: config.emaWarmup == true) }
        let counts = (0..<classNames.count).map { c in train.filter { $0.label == c }.count }
        let weights = config.classWeighting == .none ? nil : ClassWeights.compute(counts: counts, method: config.classWeighting)
        classWeights = weights
        loss = try SoftmaxCrossEntropy(classWeights: weights, labelSmoothing: config.labelSmoothing)
        if case .plateau(let patience) = config.schedule {
            progress.plateau = try ReduceOnPlateau(mode: config.monitor.higherIsBetter ? .max : .min, patience: patience)
        }
        if communicator.isRoot {
            for folder in [run.url, run.checkpoints] { AtomicFile.removeStaleTemporaries(in: folder) }
        }
        if let latest = run.existingCheckpoints().last {
            progress = try Checkpoint.read(into: model, optimizer: optimizer, ema: ema, from: latest)
            // A run killed after logging an epoch but before its checkpoint trains that epoch again.
            records = EpochRecord.read(from: run).filter { $0.epoch <= progress.epoch }
            log("resuming from \(latest.lastPathComponent): epoch \(progress.epoch + 1), batch \(progress.batch + 1), step \(progress.step)")
        }
        try parallel.broadcast(model.parameters)
        if let precision = config.precision { try model.train(at: precision) }
        if [config.precision, config.frozenPrecision].contains(where: { $0?.isEmulated() == true }) {
            log("warning: SKINLESION_BF16_EMULATION=1: oneDNN emulates bf16 on this CPU (\(CPUISA.effective.name), no AVX512_BF16): "
                + "bf16's numbers, several times slower than fp32; for checking quality, not for speed")
        }
        if config.frozenBatchNorm == true { model.batchNorms.forEach { $0.usesRunningStatistics = true } }
        if config.syncBatchNorm == true && parallel.ranks > 1 {
            let sum = RankStatisticsSum(communicator)
            model.batchNorms.forEach { $0.statisticsSum = sum }
        }
        if parallel.ranks > 1 {
            model.network.didBackward = { [parallel] in try parallel.didBackward($0) }
            log("data parallel: \(parallel.ranks) ranks × \(parallel.share) images per global batch of \(config.batchSize), "
                + (config.syncBatchNorm == true ? "BatchNorm statistics over the global batch" : "BatchNorm statistics per rank"))
        }
    }

    private static func makeOptimizer(_ config: TrainingConfig) throws -> any Optimizer {
        switch config.optimizer {
        case .sgd: return try SGD(learningRate: config.learningRate, momentum: config.momentum, weightDecay: config.weightDecay)
        case .nesterov:
            return try SGD(learningRate: config.learningRate, momentum: config.momentum, nesterov: true, weightDecay: config.weightDecay)
        case .adam: return try Adam(learningRate: config.learningRate, weightDecay: config.weightDecay)
        case .adamw: return try Adam(learningRate: config.learningRate, weightDecay: config.weightDecay, decoupledWeightDecay: true)
        }
    }

    var batchesPerEpoch: Int { train.count / config.batchSize }

    /// Rank 0 writes the run directory and shows progress.
    private var isRoot: Bool { parallel.communicator.isRoot }

    /// The stage training starts from in `epoch`: the head during warmup epochs and during the
    /// metadata epochs of two-stage fusion, else `freeze`.
    func firstTrainableStage(epoch: Int) -> String {
        if epoch < config.warmupEpochs || !isImageEpoch(epoch) { return model.stages.last! }
        switch config.freeze {
        case .all: return model.stages.last!
        case .until(let stage): return stage
        case .none: return model.stages[0]
        }
    }

    /// False in the metadata epochs of `--metadata-stage after-image`; true otherwise.
    func isImageEpoch(_ epoch: Int) -> Bool {
        guard case .afterImage(let imageEpochs) = config.metadata?.stage else { return true }
        return epoch < imageEpochs
    }

    /// Whether the fusion branch is used in `epoch` (not in the image stage of two-stage fusion).
    func usesMetadata(epoch: Int) -> Bool {
        guard case .afterImage(let imageEpochs) = config.metadata?.stage else { return true }
        return epoch >= imageEpochs
    }

    /// Learning rate at the current step: stage base × schedule × plateau reductions.
    func learningRate(epoch: Int) -> Float {
        let base = config.warmupEpochs > 0 && epoch >= config.warmupEpochs ? config.learningRate * config.fineTuneFactor
                                                                           : config.learningRate
        let total = config.epochs * batchesPerEpoch
        let factor: Float
        switch config.schedule {
        case .constant, .plateau: factor = 1
        case .cosine(let warmup, let minFactor):
            factor = LearningRateSchedule.warmupCosine(warmupSteps: Int(Float(total) * warmup), totalSteps: total,
                                                       minFactor: minFactor).factor(at: progress.step)
        case .oneCycle: factor = LearningRateSchedule.oneCycle(totalSteps: total).factor(at: progress.step)
        case .step(let epochs, let gamma): factor = pow(gamma, Float(epoch / max(epochs, 1)))
        }
        return base * factor * (progress.plateau?.factor ?? 1)
    }

    /// Trains until the last epoch or early stopping. `stopAfterSteps` checkpoints and returns
    /// once that many steps have been taken in total (an interruption, for tests and tools).
    /// `stopAfterEpochs` returns once that many epochs are complete, validated and checkpointed,
    /// leaving the run unfinished, so a resume goes on as if it had never stopped: a tuner's
    /// rung, or a time-boxed session.
    @discardableResult
    public func fit(stopAfterSteps: Int? = nil, stopAfterEpochs: Int? = nil) throws -> TrainingProgress {
        if isRoot { try run.create() }
        var options = DataLoader.Options()
        options.batchSize = parallel.share
        options.threads = config.loaderThreads
        options.training = true
        options.dropLast = true
        options.seed = config.seed
        let loader = try DataLoader(samples: train, pipeline: pipeline, options: options)
        let sampler = EpochSampler(labels: train.map(\.label), strategy: config.sampler, seed: config.seed)
        let head = try model.split(after: "avgpool")
        if let precision = config.frozenPrecision, precision != .fp32, frozenStages == nil, !progress.finished {
            frozenStages = try makeFrozenStages(precision)
        }
        if config.cachesFrozenFeatures, cachedFeatures == nil, !progress.finished {
            log("head-only training without augmentation: caching the frozen backbone's features once")
            func cache(_ samples: [LoaderSample], _ split: String, forTraining: Bool) throws -> FeatureCache {
                try forTraining ? frozenStages?.runForTraining() : frozenStages?.runForValidation()
                return try FeatureCache(samples: samples, pipeline: pipeline, backbone: head.prefix, batchSize: config.batchSize,
                                        threads: config.loaderThreads, title: "features (\(split))", shown: isRoot)
            }
            // Training sees the frozen precision's features; validation, like the saved model, FP32's.
            cachedFeatures = (try cache(train, "train", forTraining: true), try cache(validation, "val", forTraining: false))
        }
        while !progress.finished && progress.epoch < config.epochs {
            if let stopAfterEpochs, progress.epoch >= stopAfterEpochs { return progress }
            let epoch = progress.epoch
            try model.trainFrom(stage: firstTrainableStage(epoch: epoch))
            model.useMetadata(usesMetadata(epoch: epoch))
            var batches = try EpochInputs(order: parallel.share(of: sampler.order(epoch: epoch)), epoch: epoch,
                                          startBatch: progress.batch, loader: loader, cache: cachedFeatures?.train)
            try frozenStages?.runForTraining()
            var bar = ProgressBar(title: "epoch \(epoch + 1)/\(config.epochs)", total: batches.count, shown: isRoot)
            var seen = 0
            let start = DispatchTime.now().uptimeNanoseconds
            while let batch = try batches.next() {
                let stepLoss = try step(batch, through: cachedFeatures == nil ? [model] : head.suffix, epoch: epoch)
                progress.epochLossSum += Double(stepLoss) * Double(batch.labels.count * parallel.ranks)
                progress.epochImages += batch.labels.count * parallel.ranks
                seen += batch.labels.count * parallel.ranks
                bar.update(done: progress.batch, images: seen,
                           status: String(format: "loss %.4f", progress.epochLossSum / Double(progress.epochImages)))
                if let every = config.checkpointEverySteps, progress.step % every == 0 { try checkpoint() }
                if progress.step == stopAfterSteps {
                    try checkpoint()
                    return progress
                }
            }
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            if let summary = parallel.takeReductionSummary() { log(summary) }
            try finishEpoch(epoch, trainLoss: progress.epochLossSum / Double(max(progress.epochImages, 1)),
                            imagesPerSecond: Double(seen) / max(seconds, 1e-9))
        }
        progress.finished = true
        try checkpoint()
        return progress
    }

    /// The stages below `--freeze` at `precision`: int8 calibrates them first (or reuses the
    /// run's recorded calibration) and records it for a resume; bf16 needs nothing.
    private func makeFrozenStages(_ precision: Precision) throws -> any FrozenStages {
        guard case .until(let stage) = config.freeze.orHead(model.stages.last!) else {
            throw TrainingError.invalidConfig("--frozen-precision \(precision.rawValue) needs a frozen part; --freeze none has none")
        }
        guard precision == .int8 else { return try FrozenBF16Stages(model: model, below: stage) }
        let frozen = try FrozenInt8Stages(
            model: model, below: stage, train: train, images: config.frozenCalibrationImages ?? TrainingConfig.defaultFrozenCalibrationImages,
            seed: config.seed, pipeline: pipeline, batchSize: config.batchSize, threads: config.loaderThreads, run: run,
            shown: isRoot, log: log)
        if isRoot { try frozen.write(to: run.frozenCalibration) }
        return frozen
    }

    /// One optimizer step on one batch through `layers` (the whole model, or the head alone on
    /// cached features); returns its loss.
    private func step(_ batch: (inputs: Tensor, labels: [Int], samples: [Int]), through layers: [any Layer], epoch: Int) throws -> Float {
        optimizer.learningRate = learningRate(epoch: epoch)
        model.reseedDropout(config.seed ^ (UInt64(progress.step) &* 0xD1B5_4A32_D192_ED03), rowsBefore: parallel.rowsBefore)
        try model.setMetadata(try metadata?.train.tensor(batch.samples, dropout: (config.metadata!.featureDropout, config.seed, epoch)))
        var logits = batch.inputs
        for layer in layers { logits = try layer.forward(logits, mode: .training) }
        let result = try loss(logits: logits, labels: batch.labels)
        let weight = classWeights.map { weights in batch.labels.reduce(0.0) { $0 + Double(weights[$1]) } } ?? Double(batch.labels.count)
        let global = try parallel.combine(loss: result.loss, weight: weight)
        guard global.loss.isFinite else {
            throw TrainingError.nonFiniteLoss(epoch: epoch, step: progress.step, batch: progress.batch, loss: global.loss)
        }
        var gradient = result.gradient
        if global.gradientScale != 1 { gradient.scale(by: global.gradientScale) }
        for (index, layer) in layers.enumerated().reversed() {
            guard let next = try layer.backward(gradient, needsInputGradient: index > 0) else { break }
            gradient = next
        }
        try parallel.averageGradients(model.parameters)
        if let maxNorm = config.gradientClip { GradientClipping.clipNorm(model.parameters, maxNorm: maxNorm) }
        let named = model.namedParameters
        optimizer.step(named)
        try ema?.update(from: named, step: progress.step)
        try parallel.broadcast(model.parameters.filter { $0.kind == .buffer })
        progress.step += 1
        progress.batch += 1
        return global.loss
    }

    /// Validation (sharded over the ranks), then on rank 0 best-model keeping, early stopping and
    /// the log row; every rank then takes rank 0's progress, and rank 0 writes the checkpoint.
    private func finishEpoch(_ epoch: Int, trainLoss: Double, imagesPerSecond: Double) throws {
        if let ema { try ema.swap(with: model.namedParameters) }
        try frozenStages?.runForValidation()
        let validated: (EvaluationReport, Double)?
        if let cachedFeatures {
            validated = isRoot ? try evaluate(cached: cachedFeatures.validation) : nil
        } else {
            validated = try evaluate(validation, metadata: metadata?.validation)
        }
        if let (report, valLoss) = validated {
            try record(epoch, report: report, valLoss: valLoss, trainLoss: trainLoss, imagesPerSecond: imagesPerSecond)
        }
        if let ema { try ema.swap(with: model.namedParameters) }
        progress = try parallel.communicator.broadcast(progress, from: 0)
        try checkpoint()
    }

    /// Rank 0's end of an epoch: the monitored metric, the best model and its card, the plateau
    /// schedule, the log row and early stopping.
    private func record(_ epoch: Int, report: EvaluationReport, valLoss: Double, trainLoss: Double,
                        imagesPerSecond: Double) throws {
        let metric = try config.monitor.value(in: report, loss: valLoss)
        let improved = config.monitor.improves(metric, on: progress.bestMetric)
        if improved {
            var metadata = ModelMetadata(architecture: model.architecture.name, classNames: classes, head: model.head,
                                         inputSize: pipeline.inputSize, preprocessing: model.architecture.preprocessing)
            metadata.training = TrainingSummary(
                datasets: dataSummary.datasets, splitProtocol: dataSummary.protocol, imagesPerSplit: dataSummary.perSplit,
                classCounts: dataSummary.classCounts, epochsTrained: epoch + 1, bestEpoch: epoch + 1,
                validationBalancedAccuracy: report.balancedAccuracy, validationAccuracy: report.accuracy,
                validationMacroAUC: report.macroAUC, settings: settingsSummary)
            metadata.training?.selectedBy = config.monitor.label
            metadata.training?.dataLicenses = dataSummary.licenses
            metadata.metadataSpec = self.metadata?.train.spec
            metadata.fusion = model.fusion
            try ModelFile.save(model, metadata: metadata, to: run.bestModel)
            try AtomicFile.write(Data(ModelCard.markdown(metadata, file: run.bestModel.lastPathComponent).utf8),
                                 to: run.url.appendingPathComponent("MODEL_CARD.md"))
            progress.bestMetric = metric
            progress.bestEpoch = epoch
            progress.epochsWithoutImprovement = 0
        } else {
            progress.epochsWithoutImprovement += 1
        }
        _ = progress.plateau?.update(metric: metric)
        records.append(EpochRecord(epoch: epoch + 1, stage: firstTrainableStage(epoch: epoch),
                                   learningRate: optimizer.learningRate, trainLoss: trainLoss,
                                   trainImagesPerSecond: imagesPerSecond, valLoss: valLoss, valAccuracy: report.accuracy,
                                   valBalancedAccuracy: report.balancedAccuracy, valMacroAUC: report.macroAUC, best: improved,
                                   ranks: parallel.ranks))
        try EpochRecord.write(records, to: run)
        log(String(format: "epoch %d: train loss %.4f, val loss %.4f, val accuracy %.3f, balanced accuracy %.3f%@",
                   epoch + 1, trainLoss, valLoss, report.accuracy, report.balancedAccuracy,
                   improved ? " (best \(config.monitor.label))" : ""))
        progress.epoch += 1
        progress.batch = 0
        progress.epochLossSum = 0
        progress.epochImages = 0
        if let patience = config.patience, progress.epochsWithoutImprovement >= patience {
            log("early stopping: no better \(config.monitor.label) for \(patience) epochs; best was epoch \((progress.bestEpoch ?? 0) + 1)")
            progress.finished = true
        }
    }

    /// The settings a reader of the model card needs to judge the result.
    private var settingsSummary: String {
        "\(config.optimizer.rawValue) lr \(config.learningRate), batch \(config.batchSize), \(config.epochs) epochs planned, "
            + "freeze \(config.freeze), warmup epochs \(config.warmupEpochs), label smoothing \(config.labelSmoothing), "
            + "class weighting \(config.classWeighting.rawValue), sampler \(config.sampler), "
            + (config.augmentation.isIdentity ? "no augmentation" : "augmentation on") + ", seed \(config.seed), "
            + "best epoch by validation \(config.monitor.label)"
            + (parallel.ranks > 1 ? ", \(parallel.ranks) ranks (data parallel\(config.syncBatchNorm == true ? ", synchronised BatchNorm" : ""))" : "")
            + (config.emaDecay.map { ", EMA of the weights (decay \($0)\(config.emaWarmup == true ? ", with warm-up" : ""))" } ?? "")
            + (config.frozenBatchNorm == true ? ", frozen BatchNorm statistics" : "")
            + (config.precision == .bf16 ? ", bf16 mixed precision (FP32 master weights; saved in FP32)" : "")
            + (frozenStages.map { ", \($0.summary)" } ?? "")
    }

    /// Metrics and mean loss of the current weights on `samples` (inference mode), with their
    /// encoded metadata for a fusion model. Each rank computes its run of the batches
    /// (`Communicator.shard`); rank 0 gathers the probabilities and per-batch losses in order and
    /// returns the figures, the other ranks nil.
    func evaluate(_ samples: [LoaderSample], metadata: MetadataBatches?) throws -> (EvaluationReport, Double)? {
        var options = DataLoader.Options()
        options.batchSize = config.batchSize
        options.threads = config.loaderThreads
        let loader = try DataLoader(samples: samples, pipeline: pipeline, options: options)
        let batches = loader.epoch(Array(parallel.communicator.shard(count: samples.count, batchSize: config.batchSize)), epoch: 0)
        var probabilities: [Float] = [], labels: [Int] = [], losses: [Double] = []
        while let batch = try batches.next() {
            try model.setMetadata(try metadata?.tensor(batch.samples))
            let result = try loss(logits: model.forward(batch.images, mode: .inference), labels: batch.labels)
            losses.append(Double(result.loss) * Double(batch.labels.count))
            probabilities += result.probabilities
            labels += batch.labels
        }
        let communicator = parallel.communicator
        // Every rank takes part in all three gathers (a `guard let a, let b` would stop at the first nil).
        let gathered = (try communicator.gather(probabilities, to: 0), try communicator.gather(labels, to: 0),
                        try communicator.gather(losses, to: 0))
        guard let allProbabilities = gathered.0, let allLabels = gathered.1, let allLosses = gathered.2 else { return nil }
        let input = try EvaluationInput(probabilities: Array(allProbabilities.joined()), labels: Array(allLabels.joined()), classes: classes)
        return (EvaluationReport.compute(input), allLosses.joined().reduce(0, +) / Double(max(input.labels.count, 1)))
    }

    /// Metrics and mean loss of the current head on cached features (the same figures as
    /// `evaluate(_:)` on the images, without recomputing the frozen backbone).
    private func evaluate(cached: FeatureCache) throws -> (EvaluationReport, Double) {
        let head = try model.split(after: "avgpool").suffix
        var probabilities: [Float] = [], lossSum = 0.0
        for start in stride(from: 0, to: cached.count, by: config.batchSize) {
            let positions = Array(start..<min(start + config.batchSize, cached.count))
            let batch = try cached.batch(positions)
            try model.setMetadata(try metadata?.validation.tensor(positions))
            var logits = batch.features
            for layer in head { logits = try layer.forward(logits, mode: .inference) }
            let result = try loss(logits: logits, labels: batch.labels)
            lossSum += Double(result.loss) * Double(batch.labels.count)
            probabilities += result.probabilities
        }
        let input = try EvaluationInput(probabilities: probabilities, labels: cached.labels, classes: classes)
        return (EvaluationReport.compute(input), lossSum / Double(max(cached.count, 1)))
    }

    /// Writes a checkpoint for the current step and keeps only the newest `keepCheckpoints` (rank 0).
    private func checkpoint() throws {
        guard isRoot else { return }
        let url = run.checkpoint(step: progress.step)
        try Checkpoint.write(model: model, optimizer: optimizer, ema: ema, progress: progress, to: url)
        for old in run.existingCheckpoints().dropLast(config.keepCheckpoints) { try? FileManager.default.removeItem(at: old) }
    }
}
