import Foundation
import Models
import NeuralNet

/// An int8 model file is a normal model file (DESIGN.md, decision 10): safetensors plus the
/// same metadata, with `precision: int8` and a `QuantizationRecord`. Each quantized
/// convolution is stored folded, under its FP32 name: `<conv>.weight` as I8 (torchvision's
/// OIHW), `<conv>.weight_scale` (F32, one per output channel) and `<conv>.bias` (F32, the
/// folded bias); its BatchNorm is folded away. Every other tensor (the head) is stored as usual.
extension ModelFile {
    /// Writes a model `Quantizer.quantize` has quantized; `metadata` carries its record.
    public static func saveQuantized(_ model: Classifier, metadata: ModelMetadata, to url: URL) throws {
        let file = url.lastPathComponent
        guard metadata.precision == .int8, let record = metadata.quantization else {
            throw ModelFileError(file: file, message: "an int8 file needs precision int8 and a quantization record")
        }
        guard metadata.classNames.count == model.classes else {
            throw ModelFileError(file: file, message: "\(metadata.classNames.count) class names given for a \(model.classes)-class model")
        }
        var writer = SafeTensorsWriter()
        var folded: [String] = []
        for (conv, bn, unit) in Quantizer.units(of: model) {
            guard let q = unit.quantization, record.layers[conv] != nil else {
                throw ModelFileError(file: file, message: "\(conv) is not quantized; run the quantizer first")
            }
            try writer.add(conv + ".weight", shape: unit.conv.weight.shape, int8s: q.weights)
            try writer.add(conv + ".weight_scale", shape: [q.weightScales.count], floats: q.weightScales)
            try writer.add(conv + ".bias", shape: [q.bias.count], floats: q.bias)
            folded += [conv, bn]
        }
        for (name, p) in model.namedParameters where !isUnder(name, folded) {
            if p.kind == .counter {
                try writer.add(name, shape: p.shape, int64s: p.values.map { Int64($0) })
            } else {
                try writer.add(name, shape: p.shape, floats: p.values)
            }
        }
        try checkFusion(metadata, file: file)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        writer.metadata[metadataKey] = String(decoding: try encoder.encode(metadata), as: UTF8.self)
        try writer.write(to: url)
    }

    /// Loads an int8 file's tensors into a freshly built `model`: the int8 form of every
    /// quantized convolution, its dequantized FP32 form, and the rest as usual. Every
    /// convolution of the architecture must be in the record, and nothing else.
    static func loadQuantized(into model: Classifier, from file: SafeTensorsFile, record: QuantizationRecord) throws {
        let name = file.url.lastPathComponent
        try Quantizer.requireSupported(model.architecture.name, file: name)
        let units = Quantizer.units(of: model)
        if let mismatch = Quantizer.mismatch(record, units, architecture: model.architecture.name) {
            throw ModelFileError(file: name, message: mismatch)
        }
        for (conv, _, unit) in units {
            func tensor<T>(_ suffix: String, _ shape: [Int], _ read: (String) throws -> [T]) throws -> [T] {
                let key = conv + "." + suffix
                guard let entry = file.entries[key] else { throw ModelFileError(file: name, message: "missing int8 tensor '\(key)'") }
                guard entry.shape == shape else {
                    throw ModelFileError(file: name, message: "'\(key)' has shape \(entry.shape), expected \(shape)")
                }
                return try read(key)
            }
            let out = unit.conv.outChannels
            do {
                try Quantizer.install(weights: try tensor("weight", unit.conv.weight.shape, file.int8s),
                                      weightScales: try tensor("weight_scale", [out], file.floats),
                                      bias: try tensor("bias", [out], file.floats), scales: record.layers[conv]!, in: unit, name: conv)
            } catch let error as NeuralNetError {
                throw ModelFileError(file: name, message: "\(error)")
            }
        }
        try model.load(from: file, skipping: units.flatMap { [$0.conv, $0.bn] })
    }

    private static func isUnder(_ name: String, _ prefixes: [String]) -> Bool {
        prefixes.contains { name.hasPrefix($0 + ".") }
    }
}
