import Foundation
import NeuralNet

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
    public func load(from file: SafeTensorsFile, skipping: [String] = []) throws {
        let skipped = { (name: String) in
            skipping.contains { name == $0 || name.hasPrefix($0 + ".") || name.hasPrefix($0 + "/") }
        }
        let ours = namedParameters.filter { !skipped($0.name) }
        var missing: [String] = [], wrongShape: [(String, [Int], [Int])] = []
        for (name, p) in ours {
            guard let entry = file.entries[name] else {
                if !name.hasSuffix("num_batches_tracked") { missing.append(name) }
                continue
            }
            if entry.shape != p.shape && !(p.shape.isEmpty && entry.elementCount == 1) {
                wrongShape.append((name, p.shape, entry.shape))
            }
        }
        let known = Set(ours.map(\.name))
        let unexpected = file.names.filter { !known.contains($0) && !skipped($0) }
        guard missing.isEmpty, unexpected.isEmpty, wrongShape.isEmpty else {
            throw WeightMismatchError(file: file.url.lastPathComponent, missing: missing, unexpected: unexpected,
                                      wrongShape: wrongShape)
        }
        for (name, p) in ours where file.entries[name] != nil {
            let values = try file.floats(name)
            // A NaN or infinity in a weight poisons every output; say which tensor holds it.
            if let bad = values.firstIndex(where: { !$0.isFinite }) {
                throw SafeTensorsError(file: file.url.lastPathComponent, message: "tensor '\(name)' holds \(values[bad]) at element "
                                       + "\(bad) of \(values.count); weights must be finite numbers")
            }
            try p.assign(values)
        }
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
