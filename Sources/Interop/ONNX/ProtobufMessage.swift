import Foundation

/// One Protocol Buffers message being written, in the binary wire format: the writing half
/// only, which is all an exporter needs (ONNX files are read by ONNX's own tools).
///
/// A field is a key, `field number << 3 | wire type`, as a varint, then the value: a varint
/// (type 0), four little-endian bytes (type 5), or a varint length and that many bytes
/// (type 2: strings, bytes, embedded messages, packed numbers). An embedded message must know
/// its size before it is written, so each message keeps its size as it grows, and large byte
/// fields (weights) are kept by reference and streamed, never copied into their parents.
struct ProtobufMessage {
    private enum Part {
        case bytes([UInt8])
        case data(Data)
        case message(ProtobufMessage)
    }

    private enum WireType: UInt64 {
        case varint = 0
        case lengthDelimited = 2
        case fixed32 = 5
    }

    private var parts: [Part] = []
    /// Small fields collect here and become one part when a large one follows.
    private var pending: [UInt8] = []
    /// The encoded size of the message so far.
    private(set) var byteCount = 0

    // MARK: Fields

    /// An unsigned varint field (`uint64`, `bool`, enums).
    mutating func varint(_ field: Int, _ value: UInt64) {
        key(field, .varint)
        appendVarint(value)
    }

    /// An `int64`/`int32` field: negative values are their 64-bit two's complement, ten bytes.
    mutating func int64(_ field: Int, _ value: Int64) {
        varint(field, UInt64(bitPattern: value))
    }

    /// A `repeated int64` field that is not declared packed: one key and value per element.
    mutating func int64s(_ field: Int, _ values: [Int64]) {
        for value in values { int64(field, value) }
    }

    /// A `float` field: IEEE 754 single, little-endian.
    mutating func float(_ field: Int, _ value: Float) {
        key(field, .fixed32)
        withUnsafeBytes(of: value.bitPattern.littleEndian) { append($0) }
    }

    /// A `repeated float` field that is not declared packed.
    mutating func floats(_ field: Int, _ values: [Float]) {
        for value in values { float(field, value) }
    }

    /// A `string` field, UTF-8.
    mutating func string(_ field: Int, _ value: String) {
        let utf8 = Array(value.utf8)
        lengthPrefix(field, utf8.count)
        append(utf8)
    }

    /// A `repeated string` field.
    mutating func strings(_ field: Int, _ values: [String]) {
        for value in values { string(field, value) }
    }

    /// A `bytes` field, kept by reference until written.
    mutating func bytes(_ field: Int, _ value: Data) {
        lengthPrefix(field, value.count)
        flushPending()
        parts.append(.data(value))
        byteCount += value.count
    }

    /// An embedded message.
    mutating func message(_ field: Int, _ value: ProtobufMessage) {
        lengthPrefix(field, value.byteCount)
        flushPending()
        parts.append(.message(value))
        byteCount += value.byteCount
    }

    /// A `repeated` message field.
    mutating func messages(_ field: Int, _ values: [ProtobufMessage]) {
        for value in values { message(field, value) }
    }

    // MARK: Output

    /// Hands the encoding to `write` in order, chunk by chunk.
    func write(to write: (UnsafeRawBufferPointer) throws -> Void) throws {
        for part in parts {
            switch part {
            case .bytes(let bytes): try bytes.withUnsafeBytes(write)
            case .data(let data): try data.withUnsafeBytes(write)
            case .message(let message): try message.write(to: write)
            }
        }
        try pending.withUnsafeBytes(write)
    }

    /// The whole encoding in memory (tests, small messages).
    func serialized() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(byteCount)
        try! write { out.append(contentsOf: $0) }
        return out
    }

    // MARK: Encoding

    private mutating func key(_ field: Int, _ type: WireType) {
        precondition(field > 0 && field < 1 << 29, "protobuf field numbers are 1 ..< 2^29, got \(field)")
        appendVarint(UInt64(field) << 3 | type.rawValue)
    }

    private mutating func lengthPrefix(_ field: Int, _ length: Int) {
        key(field, .lengthDelimited)
        appendVarint(UInt64(length))
    }

    /// Seven bits at a time, least significant first, the high bit set on all but the last byte.
    private mutating func appendVarint(_ value: UInt64) {
        var rest = value
        while rest >= 0x80 {
            pending.append(UInt8(truncatingIfNeeded: rest) | 0x80)
            rest >>= 7
        }
        pending.append(UInt8(rest))
        byteCount += Self.varintSize(value)
    }

    private static func varintSize(_ value: UInt64) -> Int {
        value == 0 ? 1 : (64 - value.leadingZeroBitCount + 6) / 7
    }

    private mutating func append(_ bytes: [UInt8]) {
        pending += bytes
        byteCount += bytes.count
    }

    private mutating func append(_ bytes: UnsafeRawBufferPointer) {
        pending += bytes
        byteCount += bytes.count
    }

    private mutating func flushPending() {
        guard !pending.isEmpty else { return }
        parts.append(.bytes(pending))
        pending = []
    }
}
