import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// safetensors stores little-endian data, which the reader copies and the writer emits byte for byte.
#if _endian(big)
#error("SafeTensorsFile and SafeTensorsWriter assume a little-endian host")
#endif

/// The element types this package reads and writes.
public enum SafeTensorsDType: String, Sendable, CaseIterable {
    case f32 = "F32", f16 = "F16", bf16 = "BF16", i64 = "I64", i8 = "I8"

    public var byteSize: Int {
        switch self {
        case .f32: 4
        case .f16, .bf16: 2
        case .i64: 8
        case .i8: 1
        }
    }
}

/// One tensor's header entry, already validated against the file.
public struct SafeTensorsEntry: Sendable {
    public let name: String
    public let dtype: SafeTensorsDType
    public let shape: [Int]
    /// Byte range within the data buffer (the bytes after the header).
    public let byteRange: Range<Int>

    /// Cannot overflow: the reader rejected shapes whose product does not fit in an Int.
    public var elementCount: Int { shape.reduce(1, *) }
}

/// A memory-mapped safetensors file.
///
/// The header is parsed and every entry validated up front (types, bounds,
/// sizes, overlaps), so the accessors never read outside the file. Tensor data is
/// touched only when asked for, so opening a large model costs the header's size
/// in memory. Another process truncating the file while it is mapped can still
/// fault the reader, as with any mapped file.
public final class SafeTensorsFile: @unchecked Sendable {
    /// The reference implementation's limit; real headers are kilobytes, and this
    /// bounds the one allocation made before anything is validated.
    static let maxHeaderLength: UInt64 = 100_000_000

    public let url: URL
    /// The "__metadata__" object, empty if absent.
    public let metadata: [String: String]
    public let entries: [String: SafeTensorsEntry]
    public var names: [String] { entries.keys.sorted() }

    private let mapping: MappedFile
    private let dataStart: Int

    public init(contentsOf url: URL) throws {
        let file = url.lastPathComponent
        let mapping = try MappedFile(url: url, fileName: file)
        let bytes = mapping.bytes
        func fail(_ message: String) -> SafeTensorsError { SafeTensorsError(file: file, message: message) }

        guard bytes.count >= 8 else {
            throw fail("file is \(bytes.count) bytes, too short for the 8-byte header length")
        }
        let headerLength = UInt64(littleEndian: bytes.loadUnaligned(as: UInt64.self))
        guard headerLength <= Self.maxHeaderLength else {
            throw fail("header length \(headerLength) exceeds the \(Self.maxHeaderLength)-byte limit")
        }
        guard headerLength <= UInt64(bytes.count - 8) else {
            throw fail("header length \(headerLength) runs past the end of the \(bytes.count)-byte file")
        }
        let dataStart = 8 + Int(headerLength)
        let header = Data(bytes[8..<dataStart])
        // JSONDecoder reports bad UTF-8 inside a string as a type mismatch; say what is really wrong.
        guard String(data: header, encoding: .utf8) != nil else { throw fail("header is not valid UTF-8") }
        let json: SafeTensorsJSON
        do {
            json = try JSONDecoder().decode(SafeTensorsJSON.self, from: header)
        } catch {
            // JSONDecoder does not say where the JSON breaks; JSONSerialization's error does.
            var reason = ""
            do { _ = try JSONSerialization.jsonObject(with: header, options: .fragmentsAllowed) } catch {
                reason = (error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String ?? ""
            }
            throw fail("header is not valid JSON" + (reason.isEmpty ? "" : " (\(reason))"))
        }
        guard case .object(let top) = json else { throw fail("header must be a JSON object, found \(json.kind)") }

        var metadata: [String: String] = [:]
        var entries: [String: SafeTensorsEntry] = [:]
        let bufferSize = bytes.count - dataStart
        // Sorted so that a file with several problems always reports the same one.
        for key in top.keys.sorted() {
            let value = top[key]!
            if key == "__metadata__" {
                metadata = try Self.metadata(value, fail)
            } else {
                entries[key] = try Self.entry(key, value, bufferSize: bufferSize, fail)
            }
        }
        try Self.checkOverlaps(entries.values, fail)

        self.url = url
        self.metadata = metadata
        self.entries = entries
        self.mapping = mapping
        self.dataStart = dataStart
    }

    /// The tensor as Floats: F32 as stored, F16, BF16 and I8 widened exactly, I64 rounded to nearest.
    public func floats(_ name: String) throws -> [Float] {
        let entry = try entry(named: name)
        let bytes = data(of: entry)
        switch entry.dtype {
        case .f32:
            return Self.copy(bytes, as: Float.self)
        case .f16:
            return (0..<entry.elementCount).map {
                floatFromFloat16Bits(bytes.loadUnaligned(fromByteOffset: 2 * $0, as: UInt16.self))
            }
        case .bf16:
            return (0..<entry.elementCount).map {
                floatFromBFloat16Bits(bytes.loadUnaligned(fromByteOffset: 2 * $0, as: UInt16.self))
            }
        case .i64:
            return Self.copy(bytes, as: Int64.self).map(Float.init)
        case .i8:
            return Self.copy(bytes, as: Int8.self).map(Float.init)
        }
    }

    /// The tensor as Int8s (an int8 model's quantized weights); only I8 tensors qualify.
    public func int8s(_ name: String) throws -> [Int8] {
        let entry = try entry(named: name)
        guard entry.dtype == .i8 else {
            throw SafeTensorsError(file: url.lastPathComponent, message: "tensor '\(name)' is \(entry.dtype.rawValue), not I8")
        }
        return Self.copy(data(of: entry), as: Int8.self)
    }

    /// The tensor as Int64s; only I64 tensors qualify, since nothing else converts losslessly.
    public func int64s(_ name: String) throws -> [Int64] {
        let entry = try entry(named: name)
        guard entry.dtype == .i64 else {
            throw SafeTensorsError(file: url.lastPathComponent, message: "tensor '\(name)' is \(entry.dtype.rawValue), not I64")
        }
        return Self.copy(data(of: entry), as: Int64.self)
    }

    private func entry(named name: String) throws -> SafeTensorsEntry {
        guard let entry = entries[name] else {
            throw SafeTensorsError(file: url.lastPathComponent, message: "no tensor named '\(name)'")
        }
        return entry
    }

    private func data(of entry: SafeTensorsEntry) -> UnsafeRawBufferPointer {
        let range = entry.byteRange
        return UnsafeRawBufferPointer(rebasing: mapping.bytes[(dataStart + range.lowerBound)..<(dataStart + range.upperBound)])
    }

    /// Copies bytes into a new array; copyMemory does not care how the source is aligned.
    private static func copy<T>(_ bytes: UnsafeRawBufferPointer, as _: T.Type) -> [T] {
        let count = bytes.count / MemoryLayout<T>.stride
        return [T](unsafeUninitializedCapacity: count) { buffer, initialized in
            UnsafeMutableRawBufferPointer(buffer).copyMemory(from: bytes)
            initialized = count
        }
    }

    private static func metadata(
        _ value: SafeTensorsJSON, _ fail: (String) -> SafeTensorsError
    ) throws -> [String: String] {
        guard case .object(let fields) = value else {
            throw fail("\"__metadata__\" must be an object of strings, found \(value.kind)")
        }
        return try fields.keys.sorted().reduce(into: [:]) { metadata, key in
            guard case .string(let string) = fields[key]! else {
                throw fail("\"__metadata__\" key '\(key)' must have a string value, found \(fields[key]!.kind)")
            }
            metadata[key] = string
        }
    }

    private static func entry(
        _ name: String, _ value: SafeTensorsJSON, bufferSize: Int, _ fail: (String) -> SafeTensorsError
    ) throws -> SafeTensorsEntry {
        func bad(_ message: String) -> SafeTensorsError { fail("tensor '\(name)': \(message)") }
        guard case .object(let fields) = value else { throw bad("entry must be an object, found \(value.kind)") }

        guard let dtypeValue = fields["dtype"] else { throw bad("missing \"dtype\"") }
        guard case .string(let dtypeName) = dtypeValue else { throw bad("\"dtype\" must be a string, found \(dtypeValue.kind)") }
        guard let dtype = SafeTensorsDType(rawValue: dtypeName) else {
            let supported = SafeTensorsDType.allCases.map(\.rawValue).joined(separator: ", ")
            throw bad("unsupported dtype '\(dtypeName)' (supported: \(supported))")
        }

        func integers(_ field: String) throws -> [Int] {
            guard let value = fields[field] else { throw bad("missing \"\(field)\"") }
            guard case .array(let items) = value else { throw bad("\"\(field)\" must be an array of integers, found \(value.kind)") }
            return try items.enumerated().map { index, item in
                guard case .integer(let number) = item else {
                    throw bad("\"\(field)\" must be an array of integers, found \(item.kind) at index \(index)")
                }
                return number
            }
        }
        let shape = try integers("shape")
        guard shape.allSatisfy({ $0 >= 0 }) else { throw bad("shape \(shape) has a negative dimension") }
        let offsets = try integers("data_offsets")
        guard offsets.count == 2 else { throw bad("data_offsets \(offsets) must be two integers [begin, end]") }
        guard offsets[0] >= 0, offsets[1] >= 0 else { throw bad("data_offsets \(offsets) must not be negative") }
        guard offsets[0] <= offsets[1] else { throw bad("data_offsets \(offsets) begin after they end") }
        guard offsets[1] <= bufferSize else {
            throw bad("data_offsets \(offsets) run past the end of the \(bufferSize)-byte data buffer")
        }

        // Checked arithmetic: release builds use -Ounchecked, where a plain overflow would wrap silently.
        var byteCount = dtype.byteSize
        for dimension in shape {
            let (product, overflow) = byteCount.multipliedReportingOverflow(by: dimension)
            guard !overflow else { throw bad("shape \(shape) has too many elements to address") }
            byteCount = product
        }
        guard offsets[1] - offsets[0] == byteCount else {
            throw bad("data_offsets \(offsets) hold \(offsets[1] - offsets[0]) bytes but shape \(shape) of \(dtypeName) needs \(byteCount)")
        }
        return SafeTensorsEntry(name: name, dtype: dtype, shape: shape, byteRange: offsets[0]..<offsets[1])
    }

    /// Overlapping tensors would alias each other's data: a sign of a corrupt or crafted file.
    private static func checkOverlaps(
        _ entries: some Sequence<SafeTensorsEntry>, _ fail: (String) -> SafeTensorsError
    ) throws {
        let ordered = entries.filter { !$0.byteRange.isEmpty }
            .sorted { ($0.byteRange.lowerBound, $0.name) < ($1.byteRange.lowerBound, $1.name) }
        for (first, second) in zip(ordered, ordered.dropFirst()) where first.byteRange.overlaps(second.byteRange) {
            let a = [first.byteRange.lowerBound, first.byteRange.upperBound]
            let b = [second.byteRange.lowerBound, second.byteRange.upperBound]
            throw fail("tensors '\(first.name)' \(a) and '\(second.name)' \(b) overlap")
        }
    }
}

/// A read-only private mapping of a whole file, unmapped when the last user lets go.
private final class MappedFile: @unchecked Sendable {
    let bytes: UnsafeRawBufferPointer

    init(url: URL, fileName: String) throws {
        func fail(_ what: String) -> SafeTensorsError {
            SafeTensorsError(file: fileName, message: "cannot \(what): \(String(cString: strerror(errno)))")
        }
        let descriptor = url.withUnsafeFileSystemRepresentation { open($0!, O_RDONLY) }
        guard descriptor >= 0 else { throw fail("open") }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { throw fail("stat") }
        guard status.st_mode & S_IFMT == S_IFREG else {
            throw SafeTensorsError(file: fileName, message: "not a regular file")
        }
        let size = Int(status.st_size)
        // mmap refuses zero lengths; an empty file is reported as too short by the caller.
        guard size > 0 else {
            bytes = UnsafeRawBufferPointer(start: nil, count: 0)
            return
        }
        let address = mmap(nil, size, PROT_READ, MAP_PRIVATE, descriptor, 0)
        guard let address, address != MAP_FAILED else { throw fail("map") }
        bytes = UnsafeRawBufferPointer(start: address, count: size)
    }

    deinit {
        if let base = bytes.baseAddress { munmap(UnsafeMutableRawPointer(mutating: base), bytes.count) }
    }
}

/// Just enough JSON to tell the header's value kinds apart, for validation and for writing.
enum SafeTensorsJSON: Codable {
    case null, bool(Bool), integer(Int), number(Double), string(String)
    indirect case array([SafeTensorsJSON]), object([String: SafeTensorsJSON])

    /// Names the kind in error messages.
    var kind: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .integer: "an integer"
        case .number: "a non-integer number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }

    init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        // Bool before numbers and Int before Double, so each value lands in the narrowest case.
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Int.self) {
            self = .integer(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([SafeTensorsJSON].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: SafeTensorsJSON].self))
        }
    }

    func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .integer(let value): try container.encode(value)
        case .number(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }
}
