import Foundation

/// Collects tensors and writes them as one safetensors file.
///
/// Tensors are checked as they are added, so `write(to:)` only fails on I/O.
/// The arrays are kept as given (copy-on-write, no copy) and streamed to disk.
public struct SafeTensorsWriter: Sendable {
    private enum Values: Sendable {
        case floats([Float]), int64s([Int64]), int8s([Int8])
    }

    private struct Tensor: Sendable {
        let shape: [Int]
        let values: Values
    }

    /// Errors from `add` name the writer, since no file exists yet.
    private static let source = "safetensors writer"

    private var tensors: [String: Tensor] = [:]
    /// Written as "__metadata__"; omitted when empty, like the reference implementation.
    public var metadata: [String: String] = [:]

    public init() {}

    /// Adds a tensor stored as F32.
    public mutating func add(_ name: String, shape: [Int], floats: [Float]) throws {
        try add(name, Tensor(shape: shape, values: .floats(floats)), count: floats.count)
    }

    /// Adds a tensor stored as I64.
    public mutating func add(_ name: String, shape: [Int], int64s: [Int64]) throws {
        try add(name, Tensor(shape: shape, values: .int64s(int64s)), count: int64s.count)
    }

    /// Adds a tensor stored as I8.
    public mutating func add(_ name: String, shape: [Int], int8s: [Int8]) throws {
        try add(name, Tensor(shape: shape, values: .int8s(int8s)), count: int8s.count)
    }

    private mutating func add(_ name: String, _ tensor: Tensor, count: Int) throws {
        func fail(_ message: String) -> SafeTensorsError { SafeTensorsError(file: Self.source, message: message) }
        guard !name.isEmpty else { throw fail("tensor names must not be empty") }
        guard name != "__metadata__" else { throw fail("'__metadata__' is reserved and cannot name a tensor") }
        guard tensors[name] == nil else { throw fail("tensor '\(name)' was already added") }
        guard tensor.shape.allSatisfy({ $0 >= 0 }) else { throw fail("tensor '\(name)': shape \(tensor.shape) has a negative dimension") }
        var elements = 1
        for dimension in tensor.shape {
            let (product, overflow) = elements.multipliedReportingOverflow(by: dimension)
            guard !overflow else { throw fail("tensor '\(name)': shape \(tensor.shape) has too many elements") }
            elements = product
        }
        guard elements == count else {
            throw fail("tensor '\(name)': shape \(tensor.shape) holds \(elements) elements but \(count) were given")
        }
        tensors[name] = tensor
    }

    /// Writes the file through `AtomicFile`: readers, a crash or a full disk see either the
    /// old file or the complete new one, never a partial write.
    public func write(to url: URL) throws {
        let header = try headerBytes()
        try AtomicFile.write(to: url) { file in
            try header.withUnsafeBytes { try file.write($0) }
            for name in tensors.keys.sorted() {
                switch tensors[name]!.values {
                case .floats(let values): try values.withUnsafeBytes { try file.write($0) }
                case .int64s(let values): try values.withUnsafeBytes { try file.write($0) }
                case .int8s(let values): try values.withUnsafeBytes { try file.write($0) }
                }
            }
        }
    }

    /// The 8-byte length and the JSON header, padded with spaces to a multiple of
    /// 8 bytes so the data buffer starts 8-byte aligned, as the reference implementation does.
    /// Tensors are laid out back to back in name order.
    private func headerBytes() throws -> [UInt8] {
        var header: [String: SafeTensorsJSON] = [:]
        var offset = 0
        for name in tensors.keys.sorted() {
            let tensor = tensors[name]!
            let (dtype, count): (SafeTensorsDType, Int) = switch tensor.values {
            case .floats(let values): (.f32, values.count)
            case .int64s(let values): (.i64, values.count)
            case .int8s(let values): (.i8, values.count)
            }
            let end = offset + count * dtype.byteSize
            header[name] = .object([
                "dtype": .string(dtype.rawValue),
                "shape": .array(tensor.shape.map(SafeTensorsJSON.integer)),
                "data_offsets": .array([.integer(offset), .integer(end)]),
            ])
            offset = end
        }
        if !metadata.isEmpty {
            header["__metadata__"] = .object(metadata.mapValues(SafeTensorsJSON.string))
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var bytes = [UInt8](try encoder.encode(SafeTensorsJSON.object(header)))
        bytes += repeatElement(UInt8(ascii: " "), count: (8 - bytes.count % 8) % 8)
        return withUnsafeBytes(of: UInt64(bytes.count).littleEndian, Array.init) + bytes
    }
}
