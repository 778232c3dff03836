import Foundation
import Models

/// A PyTorch checkpoint written by `torch.save`, read without running any of its pickle:
/// the restricted unpickler builds only dicts, lists, numbers, strings and tensors, and the
/// tensors' bytes are copied from the storages the file carries.
///
/// Both layouts torch has written:
/// - zip (torch 1.6 and later): `<prefix>/data.pkl` is the pickle, whose persistent ids
///   `('storage', torch.FloatStorage, key, location, numel)` name the members
///   `<prefix>/data/<key>`; `<prefix>/byteorder` says `little` (absent before torch 2.1).
/// - legacy (before 1.6, and `_use_new_zipfile_serialization=False`): five pickles in a row
///   (magic number, protocol version 1001, system info, the object, the sorted storage
///   keys), then each storage as an 8-byte element count and its raw bytes. Persistent ids
///   carry a sixth field for storage views.
///
/// The state dict is the pickled dict itself, or the one under `state_dict`,
/// `model_state_dict` or `model` (training checkpoints), with DataParallel's `module.`
/// prefix removed.
public struct TorchCheckpoint {
    public enum Layout: String, Sendable {
        case zip = "PyTorch zip checkpoint"
        case legacy = "PyTorch legacy checkpoint (before torch 1.6)"
    }

    /// data.pkl of a state dict is kilobytes to a few megabytes.
    static let maxPickleBytes: UInt64 = 1 << 30
    static let magicNumber: [UInt8] = [0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19] // 0x1950a86a20f9469cfc6c
    static let legacyProtocolVersion = 1001

    public let layout: Layout
    public let stateDict: StateDict
    /// The keys unwrapped to reach the state dict (`["state_dict"]`), empty when it is the file.
    public let unwrapped: [String]
    /// Whether every name carried DataParallel's `module.` prefix, now removed.
    public let strippedModulePrefix: Bool

    public init(contentsOf url: URL) throws {
        let file = url.lastPathComponent
        let head = try Self.prefix(of: url, file: file)
        if head.starts(with: ZipArchive.signature) {
            layout = .zip
            (stateDict, unwrapped, strippedModulePrefix) = try Self.readZip(url, file: file)
        } else if head.first == 0x80 {
            layout = .legacy
            (stateDict, unwrapped, strippedModulePrefix) = try Self.readLegacy(url, file: file)
        } else {
            throw WeightFileError(file: file, "not a PyTorch checkpoint: neither a zip archive nor a pickle")
        }
    }

    /// Whether the first bytes start a legacy checkpoint: PROTO, then LONG1 of the magic
    /// number. (A zip checkpoint is told apart from a `.keras` zip by its members.)
    static func isLegacy(_ prefix: [UInt8]) -> Bool {
        // PROTO 2 (torch's default) puts LONG1 10 right after; protocol 4 puts a FRAME between.
        guard prefix.count > 2, prefix[0] == 0x80, (2...5).contains(prefix[1]) else { return false }
        let magic: [UInt8] = [0x8A, 0x0A] + magicNumber
        return (2..<min(prefix.count, 16)).contains { prefix[$0...].starts(with: magic) }
    }

    static func isZipCheckpoint(paths: [String]) -> Bool { dataPickle(in: paths) != nil }

    private static func prefix(of url: URL, file: String) throws -> [UInt8] {
        guard let handle = try? FileHandle(forReadingFrom: url) else { throw WeightFileError(file: file, "cannot open the file") }
        defer { try? handle.close() }
        return [UInt8]((try? handle.read(upToCount: 16)) ?? Data())
    }

    /// `<prefix>/data.pkl`, with a one-level prefix (the file's stem when torch wrote it, or `archive`).
    private static func dataPickle(in paths: [String]) -> String? {
        let candidates = paths.filter { $0.hasSuffix("/data.pkl") && $0.split(separator: "/", omittingEmptySubsequences: false).count == 2 }
        return candidates.count == 1 ? candidates[0] : nil
    }

    // MARK: - Zip layout

    private static func readZip(_ url: URL, file: String) throws -> (StateDict, [String], Bool) {
        let archive = try ZipArchive(url: url)
        guard let pickle = dataPickle(in: archive.paths) else {
            throw WeightFileError(file: file, "a zip archive without exactly one '<prefix>/data.pkl', so not a torch.save checkpoint")
        }
        let prefix = String(pickle.dropLast("data.pkl".count))
        if archive.size(of: prefix + "byteorder") != nil {
            let order = String(decoding: try archive.data(prefix + "byteorder"), as: UTF8.self)
            guard order == "little" else {
                throw WeightFileError(file: file, "byteorder is '\(order)': only little-endian checkpoints are read")
            }
        }
        guard let size = archive.size(of: pickle), size <= maxPickleBytes else {
            throw WeightFileError(file: file, "\(pickle) is over the \(maxPickleBytes)-byte limit")
        }
        let bytes = try archive.data(pickle)
        var storages: [String: TorchStorage.ElementType] = [:]
        let value = try unpickle(bytes, file: file, label: pickle) { id in
            let (storage, _) = try Self.storage(fromPersistentID: id, fields: 5)
            let member = prefix + "data/" + storage.key
            guard let bytes = archive.size(of: member) else {
                throw TorchObjects.Failure(message: "storage '\(storage.key)' has no member \(member)")
            }
            let (needed, overflow) = storage.count.multipliedReportingOverflow(by: storage.type.byteSize)
            guard !overflow, bytes == UInt64(needed) else {
                throw TorchObjects.Failure(message: "storage '\(storage.key)' is \(storage.count) \(storage.type.rawValue) "
                                           + "elements but \(member) holds \(bytes) bytes")
            }
            try Self.record(storage, in: &storages)
            return .storage(storage)
        }
        let (tensors, path, stripped) = try TorchStateDictLocator.find(in: value, file: file)
        // Only the state dict's storages are read: an optimizer's stay in the archive.
        var data: [String: Data] = [:]
        for key in Set(tensors.map(\.tensor.storage.key)) { data[key] = try archive.data(prefix + "data/" + key) }
        return (stateDict(tensors, data: data, file: file), path, stripped)
    }

    // MARK: - Legacy layout

    private static func readLegacy(_ url: URL, file: String) throws -> (StateDict, [String], Bool) {
        let data = try Data(contentsOf: url, options: .alwaysMapped)
        var roots: [String: (type: TorchStorage.ElementType, count: Int)] = [:]
        var types: [String: TorchStorage.ElementType] = [:]
        var position = 0
        func next(_ label: String, _ persistentLoad: @escaping (PickleValue) throws -> PickleValue = { _ in
            throw TorchObjects.Failure(message: "a persistent id outside the object")
        }) throws -> PickleValue {
            try data.withUnsafeBytes { bytes in
                var reader = RestrictedUnpickler(bytes, at: position, persistentLoad: persistentLoad)
                do {
                    defer { position = reader.position }
                    return try reader.load()
                } catch let failure as RestrictedUnpickler.Failure {
                    throw WeightFileError(file: file, "\(label) at byte \(failure.offset): \(failure.message)")
                }
            }
        }
        guard case .wideInt(let magic) = try next("magic number"), magic == magicNumber else {
            throw WeightFileError(file: file, "a pickle, but not a PyTorch checkpoint (no torch.save magic number)")
        }
        guard case .int(let version) = try next("protocol version"), version == legacyProtocolVersion else {
            throw WeightFileError(file: file, "legacy checkpoint protocol is not \(legacyProtocolVersion)")
        }
        guard case .dict(let info) = try next("system info") else {
            throw WeightFileError(file: file, "legacy checkpoint: system info is not a dict")
        }
        if case .bool(false)? = info["little_endian"] {
            throw WeightFileError(file: file, "written on a big-endian machine: only little-endian checkpoints are read")
        }
        let value = try next("object") { id in
            let (storage, rootCount) = try Self.storage(fromPersistentID: id, fields: 6)
            if let root = roots[storage.key], root.count != rootCount {
                throw TorchObjects.Failure(message: "storage '\(storage.key)' is declared with \(root.count) and \(rootCount) elements")
            }
            roots[storage.key] = (storage.type, rootCount)
            try Self.record(storage, in: &types)
            guard storage.viewOffset <= rootCount, storage.count <= rootCount - storage.viewOffset else {
                throw TorchObjects.Failure(message: "storage view \(storage.viewOffset)+\(storage.count) outside its "
                                           + "\(rootCount)-element storage '\(storage.key)'")
            }
            return .storage(storage)
        }
        guard case .list(let keyList) = try next("storage keys") else {
            throw WeightFileError(file: file, "legacy checkpoint: the storage keys are not a list")
        }
        var ranges: [String: Range<Int>] = [:]
        for item in keyList.items {
            guard case .string(let key) = item, let root = roots[key] else {
                throw WeightFileError(file: file, "legacy checkpoint lists storage \(item) that the object never uses")
            }
            guard data.count - position >= 8 else {
                throw WeightFileError(file: file, "truncated: storage '\(key)' starts past the end of the file")
            }
            let count = data.withUnsafeBytes { Int64(littleEndian: $0.loadUnaligned(fromByteOffset: position, as: Int64.self)) }
            guard count == root.count else {
                throw WeightFileError(file: file, "storage '\(key)' records \(count) elements, the object says \(root.count)")
            }
            let left = data.count - position - 8
            guard root.count <= left, root.count * root.type.byteSize <= left else {
                throw WeightFileError(file: file, "truncated: storage '\(key)' needs \(root.count) \(root.type.rawValue) "
                                      + "elements at byte \(position + 8), the file has \(left) bytes left")
            }
            let bytes = root.count * root.type.byteSize
            ranges[key] = (position + 8)..<(position + 8 + bytes)
            position += 8 + bytes
        }
        let (tensors, path, stripped) = try TorchStateDictLocator.find(in: value, file: file)
        var slices: [String: Data] = [:]
        for key in Set(tensors.map(\.tensor.storage.key)) {
            guard let range = ranges[key] else {
                throw WeightFileError(file: file, "storage '\(key)' is used by a tensor but its bytes are not in the file")
            }
            slices[key] = data[range]
        }
        return (stateDict(tensors, data: slices, file: file), path, stripped)
    }

    // MARK: - Shared

    private static func unpickle(_ data: Data, file: String, label: String,
                                 persistentLoad: @escaping (PickleValue) throws -> PickleValue) throws -> PickleValue {
        try data.withUnsafeBytes { bytes in
            var reader = RestrictedUnpickler(bytes, persistentLoad: persistentLoad)
            do {
                return try reader.load()
            } catch let failure as RestrictedUnpickler.Failure {
                throw WeightFileError(file: file, "\(label) at byte \(failure.offset): \(failure.message)")
            }
        }
    }

    /// `('storage', <storage type>, key, location, numel)`, plus the legacy layout's view
    /// `(view_key, offset, view_numel)` or None.
    /// Returns the storage the tensor sees and the element count of the storage saved under its key.
    private static func storage(fromPersistentID id: PickleValue, fields: Int) throws -> (TorchStorage, Int) {
        guard case .tuple(let items) = id, items.count == fields, case .string("storage") = items[0] else {
            throw TorchObjects.Failure(message: "persistent id \(id.kind) is not ('storage', type, key, location, size"
                                       + (fields == 6 ? ", view)" : ")"))
        }
        guard case .global(let global) = items[1], let type = global.storageType else {
            throw TorchObjects.Failure(message: "storage type \(items[1].kind) is not one of torch.FloatStorage, "
                                       + "HalfStorage, BFloat16Storage, LongStorage")
        }
        guard case .string(let key) = items[2], case .int(let count) = items[4], count >= 0 else {
            throw TorchObjects.Failure(message: "storage key \(items[2].kind) or size \(items[4].kind) is malformed")
        }
        guard fields == 6, case .tuple(let view) = items[5] else { return (TorchStorage(key: key, type: type, count: count), count) }
        guard view.count == 3, case .int(let offset) = view[1], case .int(let viewCount) = view[2], offset >= 0, viewCount >= 0 else {
            throw TorchObjects.Failure(message: "storage view of '\(key)' is not (key, offset, size)")
        }
        return (TorchStorage(key: key, type: type, count: viewCount, viewOffset: offset), count)
    }

    /// torch refuses to save two types viewing one storage; a file that does is crafted.
    private static func record(_ storage: TorchStorage, in types: inout [String: TorchStorage.ElementType]) throws {
        if let known = types[storage.key], known != storage.type {
            throw TorchObjects.Failure(message: "storage '\(storage.key)' is used as both \(known.rawValue) and \(storage.type.rawValue)")
        }
        types[storage.key] = storage.type
    }

    private static func stateDict(_ tensors: [(name: String, tensor: TorchTensor)], data: [String: Data],
                                  file: String) -> StateDict {
        StateDict(source: file, entries: Dictionary(uniqueKeysWithValues: tensors.map { name, tensor in
            let bytes = data[tensor.storage.key]!
            return (name, StateDict.Entry(shape: tensor.size, dtype: tensor.storage.type.rawValue) { tensor.floats(from: bytes) })
        }))
    }
}
