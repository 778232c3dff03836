import Foundation

/// Writes pickle opcodes by hand, for hostile checkpoints no honest torch would write, and
/// wraps them in the legacy layout's header (magic number, protocol version, system info).
struct PickleBuilder {
    private(set) var bytes: [UInt8] = []

    static let magic: [UInt8] = [0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19]

    /// The three pickles before a legacy checkpoint's object: magic, 1001, `{}`.
    static var legacyHeader: [UInt8] {
        [0x80, 0x02, 0x8A, 0x0A] + magic + [0x2E] + [0x80, 0x02, 0x4D, 0xE9, 0x03, 0x2E] + [0x80, 0x02, 0x7D, 0x2E]
    }

    /// A legacy checkpoint: header, `object`, then the storage keys and each storage
    /// (an element count and raw bytes).
    static func legacyFile(object: [UInt8], storages: [(key: String, count: Int64, bytes: [UInt8])] = []) -> Data {
        var keys = PickleBuilder().proto().emptyList().mark()
        for storage in storages { keys = keys.string(storage.key) }
        var file = legacyHeader + object + keys.appends().stop().bytes
        for storage in storages {
            file += withUnsafeBytes(of: storage.count.littleEndian, Array.init) + storage.bytes
        }
        return Data(file)
    }

    func op(_ raw: [UInt8]) -> PickleBuilder {
        var copy = self
        copy.bytes += raw
        return copy
    }

    func proto(_ version: UInt8 = 2) -> PickleBuilder { op([0x80, version]) }
    func stop() -> PickleBuilder { op([0x2E]) }
    func mark() -> PickleBuilder { op([0x28]) }
    func tuple() -> PickleBuilder { op([0x74]) }
    func emptyTuple() -> PickleBuilder { op([0x29]) }
    func emptyList() -> PickleBuilder { op([0x5D]) }
    func appends() -> PickleBuilder { op([0x65]) }
    func setItems() -> PickleBuilder { op([0x75]) }
    func reduce() -> PickleBuilder { op([0x52]) }
    func binPersID() -> PickleBuilder { op([0x51]) }
    func newFalse() -> PickleBuilder { op([0x89]) }
    func none() -> PickleBuilder { op([0x4E]) }
    func global(_ module: String, _ name: String) -> PickleBuilder { op([0x63] + Array("\(module)\n\(name)\n".utf8)) }
    func string(_ text: String) -> PickleBuilder {
        let utf8 = Array(text.utf8)
        return op([0x58] + withUnsafeBytes(of: UInt32(utf8.count).littleEndian, Array.init) + utf8)
    }
    /// LONG1 of 8 bytes: any Int.
    func int(_ value: Int) -> PickleBuilder { op([0x8A, 0x08] + withUnsafeBytes(of: Int64(value).littleEndian, Array.init)) }
    func ints(_ values: [Int]) -> PickleBuilder { values.reduce(mark()) { $0.int($1) }.tuple() }
    func orderedDict() -> PickleBuilder { global("collections", "OrderedDict").emptyTuple().reduce() }

    /// `{name: _rebuild_tensor_v2(('storage', FloatStorage, key, 'cpu', numel[, None]), offset, size, stride,
    /// False, {})}`, the persistent id with the legacy layout's sixth field when `legacy`.
    static func stateDict(name: String = "w", key: String = "0", numel: Int, offset: Int = 0, size: [Int],
                          stride: [Int], legacy: Bool = true) -> PickleBuilder {
        let id = PickleBuilder().proto().orderedDict().mark().string(name)
            .global("torch._utils", "_rebuild_tensor_v2").mark()
            .mark().string("storage").global("torch", "FloatStorage").string(key).string("cpu").int(numel)
        return (legacy ? id.none() : id).tuple()
            .binPersID().int(offset).ints(size).ints(stride).newFalse().orderedDict().tuple().reduce()
            .setItems().stop()
    }
}
