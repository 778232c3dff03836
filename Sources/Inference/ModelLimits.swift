import Dermoscopy
import Models

/// Named bounds on every field of a model file's metadata, checked by `ModelFile.load` before
/// the network is built. Model files travel between people, so their metadata is outside
/// input: an edited `inputSize` or hidden width must give an error that names the field and
/// the bound, never an allocation of terabytes or a precondition failure deep in a layer.
public enum ModelLimits {
    /// Input side in pixels. 32 is the smallest `train` accepts (five stride-2 stages leave 1×1);
    /// 1024 is over 4× the largest native input (299) and keeps one image's first activations
    /// in the hundreds of megabytes.
    public static let inputSize = 32...1024
    /// A classifier needs two classes; 10,000 is ten ImageNets.
    public static let classCount = 2...10_000
    /// A class name's length in UTF-8 bytes: a label, not a document.
    public static let classNameBytes = 1...256
    /// An MLP head's hidden layers: the HAM10000 heads this replaces have one to three.
    public static let hiddenLayers = 1...8
    /// A `.sequence` head's layers (Dense, BatchNorm, activation, Dropout each count one): an
    /// eight-block MLP written out is 32.
    public static let sequenceLayers = 0...32
    /// A hidden layer's width: 4096 is VGG's fully connected width, the widest head in use.
    public static let hiddenUnits = 1...4096
    /// Dropout probability, [0, 1): 1 would drop every unit.
    public static let dropout: Range<Float> = 0..<1
    /// Preprocessing `mean` (on the x/255 scale) and `std`; three channels.
    public static let preprocessingChannels = 3
    public static let preprocessingMean: ClosedRange<Float> = -10...10
    public static let preprocessingStd: ClosedRange<Float> = 1e-4...100
    /// The range `calibrate` fits a softmax temperature in: outside it a fit describes the
    /// validation set (perfectly separated, or labels unrelated to the logits), not the model.
    public static let temperature: ClosedRange<Float> = 0.05...20
    /// Free text (intended use, split protocol, settings, dataset names) in UTF-8 bytes.
    public static let textBytes = 0...4096
    /// Entries of a list or table in the training summary (datasets, splits).
    public static let summaryEntries = 0...64
    /// Epoch counts in the training summary.
    public static let epochs = 0...1_000_000
    /// An image count in the training summary.
    public static let images = 0...100_000_000
    /// Patient-metadata features in a metadata spec (age, sex, site, … : a dozen in practice).
    public static let metadataFeatures = 1...64
    /// Categories of one categorical feature (HAM10000 has 15 sites), and aliases for them.
    public static let categories = 1...256
    public static let aliases = 0...1024
    /// Spellings of "missing" in a metadata spec.
    public static let missingValues = 0...64
    /// A feature, column, category, alias or missing spelling, in UTF-8 bytes.
    public static let metadataNameBytes = 0...256
    /// A numeric feature's `scale` (non-zero), `shift` and `fill`, in absolute value: a
    /// standardised age has |scale| ~ 0.05 and |shift| ~ 3.
    public static let metadataNumber: Float = 1e6
    /// The encoded metadata vector's width, the fusion branch's input.
    public static let metadataWidth = 1...4096

    /// Quantized convolutions in an int8 file: ResNet-50 has 53.
    public static let quantizedLayers = 1...512
    /// A quantization step, real value per integer step: activations and weights of trained
    /// CNNs have steps around 1e-4…1; anything outside this range is a broken calibration.
    public static let quantizationScale: ClosedRange<Float> = 1e-12...1e6
    /// Calibration images.
    public static let calibrationImages = 1...1_000_000

    /// Every problem with `metadata`, as "field value is outside low…high" phrases; empty when
    /// it is within bounds. Only reads the decoded values: nothing is built. Strings are
    /// quoted in a message only once their length is known to be within bounds.
    public static func problems(in metadata: ModelMetadata) -> [String] {
        var check = BoundsCheck()
        check.number("formatVersion", metadata.formatVersion, 1...ModelMetadata.formatVersion)
        if check.text("architecture", metadata.architecture, 1...64) {
            check.require(Architectures.all.contains { $0.name == metadata.architecture },
                          "architecture '\(metadata.architecture)' is not one of \(Architectures.all.map(\.name).joined(separator: ", "))")
        }
        check.number("classNames count", metadata.classNames.count, classCount)
        for (index, name) in metadata.classNames.prefix(classCount.upperBound).enumerated() {
            check.text("classNames[\(index)]", name, classNameBytes)
        }
        check.require(Set(metadata.classNames).count == metadata.classNames.count, "classNames repeat a name")
        switch metadata.head {
        case .linear: break
        case .mlp(let hidden, let dropout):
            check.layers("head hidden", hidden)
            check.probability("head dropout", dropout)
        case .sequence(_, let layers):
            check.sequence("head layers", layers)
        }
        check.number("inputSize", metadata.inputSize, inputSize)
        check.preprocessing(metadata.preprocessing)
        check.text("intendedUse", metadata.intendedUse, textBytes)
        if let temperature = metadata.temperature { check.number("temperature", temperature, Self.temperature) }
        if let training = metadata.training { check.summary(training) }
        if let spec = metadata.metadataSpec { check.metadataSpec(spec) }
        if let fusion = metadata.fusion {
            check.number("fusion inputs", fusion.inputs, metadataWidth)
            check.layers("fusion hidden", fusion.hidden)
            check.probability("fusion dropout", fusion.dropout)
        }
        check.quantization(metadata)
        return check.problems
    }

    /// Every problem with a quantization record read on its own (a run directory's frozen
    /// calibration), as `problems(in:)` reports them for a model file's.
    public static func problems(in record: QuantizationRecord) -> [String] {
        var check = BoundsCheck()
        check.quantization(record)
        return check.problems
    }
}

/// Collects out-of-bounds phrases for `ModelLimits.problems(in:)`.
struct BoundsCheck {
    var problems: [String] = []

    /// Records `message` unless `ok`; returns `ok`.
    @discardableResult
    mutating func require(_ ok: Bool, _ message: @autoclosure () -> String) -> Bool {
        if !ok { problems.append(message()) }
        return ok
    }

    @discardableResult
    mutating func number<T: Comparable>(_ field: String, _ value: T, _ bounds: ClosedRange<T>) -> Bool {
        require(bounds.contains(value), "\(field) \(value) is outside \(bounds.lowerBound)…\(bounds.upperBound)")
    }

    @discardableResult
    mutating func number<T: BinaryFloatingPoint>(_ field: String, _ value: T, _ bounds: ClosedRange<T>) -> Bool {
        require(value.isFinite, "\(field) \(value) is not a finite number")
            && require(bounds.contains(value), "\(field) \(value) is outside \(bounds.lowerBound)…\(bounds.upperBound)")
    }

    /// An MLP's hidden widths: how many, and each.
    mutating func layers(_ field: String, _ hidden: [Int]) {
        number("\(field) layer count", hidden.count, ModelLimits.hiddenLayers)
        for (index, units) in hidden.prefix(ModelLimits.hiddenLayers.upperBound).enumerated() {
            number("\(field)[\(index)]", units, ModelLimits.hiddenUnits)
        }
    }

    /// A `.sequence` head: how many layers, each Dense width and each dropout rate.
    mutating func sequence(_ field: String, _ layers: [HeadLayer]) {
        number("\(field) count", layers.count, ModelLimits.sequenceLayers)
        for (index, layer) in layers.prefix(ModelLimits.sequenceLayers.upperBound).enumerated() {
            switch layer {
            case .dense(let units): number("\(field)[\(index)] Dense units", units, ModelLimits.hiddenUnits)
            case .dropout(let rate): probability("\(field)[\(index)] Dropout rate", rate)
            case .batchNorm, .activation: break
            }
        }
    }

    /// A dropout rate: finite, in [0, 1).
    mutating func probability(_ field: String, _ value: Float) {
        _ = require(value.isFinite, "\(field) \(value) is not a finite number")
            && require(ModelLimits.dropout.contains(value), "\(field) \(value) is outside [0, 1)")
    }

    /// Length in UTF-8 bytes.
    @discardableResult
    mutating func text(_ field: String, _ value: String, _ bytes: ClosedRange<Int>) -> Bool {
        let count = value.utf8.count
        return require(bytes.contains(count), "\(field) is \(count) bytes long, outside \(bytes.lowerBound)…\(bytes.upperBound)")
    }

    mutating func preprocessing(_ p: Preprocessing) {
        if text("preprocessing mode", p.mode, 1...32) {
            require(Normalization.Mode(rawValue: p.mode) != nil,
                    "preprocessing mode '\(p.mode)' is not one of \(Normalization.Mode.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        for (name, values, bounds) in [("mean", p.mean, ModelLimits.preprocessingMean), ("std", p.std, ModelLimits.preprocessingStd)] {
            guard require(values.count == ModelLimits.preprocessingChannels,
                          "preprocessing \(name) has \(values.count) values, expected \(ModelLimits.preprocessingChannels)") else { continue }
            for (channel, value) in values.enumerated() { number("preprocessing \(name)[\(channel)]", value, bounds) }
        }
    }

    mutating func metadataSpec(_ spec: MetadataSpec) {
        number("metadataSpec formatVersion", spec.formatVersion, 1...MetadataSpec.formatVersion)
        number("metadataSpec missingValues count", spec.missingValues.count, ModelLimits.missingValues)
        for (index, value) in spec.missingValues.prefix(ModelLimits.missingValues.upperBound).enumerated() {
            text("metadataSpec missingValues[\(index)]", value, ModelLimits.metadataNameBytes)
        }
        number("metadataSpec feature count", spec.features.count, ModelLimits.metadataFeatures)
        for (index, feature) in spec.features.prefix(ModelLimits.metadataFeatures.upperBound).enumerated() {
            let field = "metadataSpec features[\(index)]"
            text("\(field) name", feature.name, ModelLimits.metadataNameBytes)
            text("\(field) column", feature.column, ModelLimits.metadataNameBytes)
            if let numeric = feature.numeric {
                let bound = ModelLimits.metadataNumber
                for (part, value) in [("scale", numeric.scale), ("shift", numeric.shift), ("fill", numeric.fill)] {
                    number("\(field) \(part)", value, -bound...bound)
                }
                require(numeric.scale != 0, "\(field) scale is 0; it must be non-zero")
            }
            if let categorical = feature.categorical {
                number("\(field) category count", categorical.categories.count, ModelLimits.categories)
                for (slot, name) in categorical.categories.prefix(ModelLimits.categories.upperBound).enumerated() {
                    text("\(field) categories[\(slot)]", name, ModelLimits.metadataNameBytes)
                }
                number("\(field) alias count", categorical.aliases.count, ModelLimits.aliases)
                for (alias, target) in categorical.aliases.prefix(ModelLimits.aliases.upperBound) {
                    text("\(field) alias", alias, ModelLimits.metadataNameBytes)
                    text("\(field) alias target", target, ModelLimits.metadataNameBytes)
                }
            }
        }
    }

    /// An int8 file names its calibration and a bounded table of finite, positive scales;
    /// an FP32 file has none.
    mutating func quantization(_ metadata: ModelMetadata) {
        require(metadata.precision != .bf16, "precision bf16 is a way to run a model (--precision bf16), not a file format")
        let int8 = metadata.precision == .int8
        guard require(int8 == (metadata.quantization != nil),
                      int8 ? "precision int8 needs a quantization record" : "a quantization record needs precision int8"),
              let record = metadata.quantization else { return }
        quantization(record)
    }

    /// A quantization record's calibration and its bounded table of finite, positive scales.
    mutating func quantization(_ record: QuantizationRecord) {
        number("quantization images", record.images, ModelLimits.calibrationImages)
        text("quantization split", record.split, 1...64)
        guard number("quantization layer count", record.layers.count, ModelLimits.quantizedLayers) else { return }
        for (name, scales) in record.layers.sorted(by: { $0.key < $1.key }) where text("quantization layer name", name, 1...256) {
            number("quantization \(name) outputScale", scales.outputScale, ModelLimits.quantizationScale)
            if let input = scales.inputScale { number("quantization \(name) inputScale", input, ModelLimits.quantizationScale) }
        }
    }

    mutating func summary(_ t: TrainingSummary) {
        number("training datasets count", t.datasets.count, ModelLimits.summaryEntries)
        for (index, name) in t.datasets.prefix(ModelLimits.summaryEntries.upperBound).enumerated() {
            text("training datasets[\(index)]", name, ModelLimits.textBytes)
        }
        text("training splitProtocol", t.splitProtocol, ModelLimits.textBytes)
        text("training settings", t.settings, ModelLimits.textBytes)
        if let selectedBy = t.selectedBy { text("training selectedBy", selectedBy, 1...64) }
        if let licenses = t.dataLicenses {
            number("training dataLicenses count", licenses.count, ModelLimits.summaryEntries)
            for (index, entry) in licenses.prefix(ModelLimits.summaryEntries.upperBound).enumerated() {
                for (part, value) in [("dataset", entry.dataset), ("license", entry.license), ("basis", entry.basis)] {
                    text("training dataLicenses[\(index)] \(part)", value, ModelLimits.textBytes)
                }
            }
        }
        for (field, table, entries) in [("training imagesPerSplit", t.imagesPerSplit, ModelLimits.summaryEntries.upperBound),
                                        ("training classCounts", t.classCounts, ModelLimits.classCount.upperBound)] {
            number("\(field) count", table.count, 0...entries)
            for (key, count) in table.sorted(by: { $0.key < $1.key }).prefix(entries)
            where text("\(field) key", key, ModelLimits.classNameBytes) {
                number("\(field)[\(key)]", count, ModelLimits.images)
            }
        }
        if number("training epochsTrained", t.epochsTrained, ModelLimits.epochs) {
            number("training bestEpoch", t.bestEpoch, 0...t.epochsTrained)
        }
        number("training validationBalancedAccuracy", t.validationBalancedAccuracy, 0...1)
        number("training validationAccuracy", t.validationAccuracy, 0...1)
        if let auc = t.validationMacroAUC { number("training validationMacroAUC", auc, 0...1) }
    }
}
