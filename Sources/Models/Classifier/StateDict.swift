import Foundation
import NeuralNet

/// Named tensors from a weight file, under the names torchvision, timm and lukemelas give
/// them (`layer4.2.conv3.weight`, `_blocks.3._bn1.running_var`): what every weight reader
/// (safetensors, PyTorch checkpoints, Keras files) produces and `Layer.load(from:)` takes,
/// so loading is one code path whatever the file was.
///
/// Values are read only when a tensor is loaded: a memory-mapped safetensors file or a
/// checkpoint's storages are not copied for tensors that are skipped or refused.
public struct StateDict: Sendable {
    public struct Entry: Sendable {
        public let shape: [Int]
        /// The element type the file stores ("F32", "F16", "BF16", "I64"); values are widened
        /// to Float exactly (I64 rounded to nearest, as safetensors loading does).
        public let dtype: String
        public let read: @Sendable () throws -> [Float]

        public init(shape: [Int], dtype: String, read: @escaping @Sendable () throws -> [Float]) {
            self.shape = shape
            self.dtype = dtype
            self.read = read
        }

        /// Cannot overflow: every reader bounds element counts before making an entry.
        public var elementCount: Int { shape.reduce(1, *) }
    }

    /// The file's name, which every error about these tensors names.
    public let source: String
    public let entries: [String: Entry]
    public var names: [String] { entries.keys.sorted() }

    public init(source: String, entries: [String: Entry]) {
        self.source = source
        self.entries = entries
    }

    /// A safetensors file as it is: its names are already ours.
    public init(_ file: SafeTensorsFile) {
        source = file.url.lastPathComponent
        entries = file.entries.mapValues { entry in
            Entry(shape: entry.shape, dtype: entry.dtype.rawValue) { try file.floats(entry.name) }
        }
    }

    /// Every state tensor of a built network (a converted Keras model, a loaded model file).
    public init(source: String, layer: any Layer) {
        self.source = source
        entries = Dictionary(uniqueKeysWithValues: layer.namedParameters.map { name, p in
            let values = p.values
            return (name, Entry(shape: p.shape, dtype: p.kind == .counter ? "I64" : "F32") { values })
        })
    }
}

/// A weight file that does not fit the model, with every discrepancy listed at once so a
/// user fixes their conversion in one go rather than one name per run.
public struct WeightMismatchError: Error, CustomStringConvertible {
    public let file: String
    public let missing: [String]
    public let unexpected: [String]
    public let wrongShape: [(name: String, expected: [Int], found: [Int])]

    public var description: String {
        var lines = ["\(file) does not fit the model:"]
        if !missing.isEmpty { lines.append("  missing (\(missing.count)): \(missing.joined(separator: ", "))") }
        if !unexpected.isEmpty { lines.append("  unexpected (\(unexpected.count)): \(unexpected.joined(separator: ", "))") }
        if !wrongShape.isEmpty {
            lines.append("  wrong shape (\(wrongShape.count)): "
                         + wrongShape.map { "\($0.name) expected \($0.expected) found \($0.found)" }.joined(separator: ", "))
        }
        return lines.joined(separator: "\n")
    }
}

extension Layer {
    /// Loads a torchvision/timm-style state dict. Names under a prefix in `skipping` (followed
    /// by `.` or `/`) are left as initialised and ignored in the file (a new head on ImageNet
    /// weights: `["fc"]`; optimizer state in a checkpoint: `["optimizer"]`).
    /// `num_batches_tracked` may be absent (timm omits it).
    public func load(from state: StateDict, skipping: [String] = []) throws {
        let skipped = { (name: String) in
            skipping.contains { name == $0 || name.hasPrefix($0 + ".") || name.hasPrefix($0 + "/") }
        }
        let ours = namedParameters.filter { !skipped($0.name) }
        var missing: [String] = [], wrongShape: [(String, [Int], [Int])] = []
        for (name, p) in ours {
            guard let entry = state.entries[name] else {
                if !name.hasSuffix("num_batches_tracked") { missing.append(name) }
                continue
            }
            if entry.shape != p.shape && !(p.shape.isEmpty && entry.elementCount == 1) {
                wrongShape.append((name, p.shape, entry.shape))
            }
        }
        let known = Set(ours.map(\.name))
        let unexpected = state.names.filter { !known.contains($0) && !skipped($0) }
        guard missing.isEmpty, unexpected.isEmpty, wrongShape.isEmpty else {
            throw WeightMismatchError(file: state.source, missing: missing, unexpected: unexpected, wrongShape: wrongShape)
        }
        for (name, p) in ours {
            if let entry = state.entries[name] { try p.assign(entry.read()) }
        }
    }

    public func load(from file: SafeTensorsFile, skipping: [String] = []) throws {
        try load(from: StateDict(file), skipping: skipping)
    }

    /// Adds every state tensor to a safetensors writer: floats as F32, counters as I64.
    public func save(into writer: inout SafeTensorsWriter) throws {
        for (name, p) in namedParameters {
            if p.kind == .counter {
                try writer.add(name, shape: p.shape, int64s: p.values.map { Int64($0) })
            } else {
                try writer.add(name, shape: p.shape, floats: p.values)
            }
        }
    }
}
