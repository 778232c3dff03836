import Foundation
import NeuralNet

/// A storage a checkpoint refers to by persistent id: its key, element type and element
/// count, as the pickle states them. The bytes come later (zip member `data/<key>`, or the
/// legacy file's tail) and must hold exactly that many elements.
struct TorchStorage {
    enum ElementType: String {
        case f32 = "F32", f16 = "F16", bf16 = "BF16", i64 = "I64"

        var byteSize: Int {
            switch self {
            case .f32: 4
            case .f16, .bf16: 2
            case .i64: 8
            }
        }
    }

    let key: String
    let type: ElementType
    let count: Int
    /// Legacy storage views (torch before 1.0): elements `[viewOffset, viewOffset + count)`
    /// of the storage saved under `key`.
    var viewOffset = 0
}

/// A tensor as torch pickles it: a storage, an offset into it and a size and stride per
/// dimension, all in elements. Views (transposes, slices) and tensors that share a storage
/// are read exactly as torch would index them.
struct TorchTensor {
    /// Bounds a tensor's element count; the largest tensor of any architecture here (VGG19's
    /// `classifier.0.weight`) has 103 million.
    static let maxElements = 1 << 28
    /// torch's own limit on dimensions.
    static let maxDimensions = 64

    let storage: TorchStorage
    let offset: Int
    let size: [Int]
    let stride: [Int]
    let elementCount: Int

    /// Checks everything against the storage's declared element count with checked
    /// arithmetic, so reading the values later cannot leave the storage.
    init(storage: TorchStorage, offset: Int, size: [Int], stride: [Int]) throws {
        func fail(_ message: String) -> TorchObjects.Failure { TorchObjects.Failure(message: "tensor: " + message) }
        guard size.count == stride.count else { throw fail("size \(size) and stride \(stride) differ in length") }
        guard size.count <= Self.maxDimensions else { throw fail("\(size.count) dimensions (torch allows \(Self.maxDimensions))") }
        guard offset >= 0, size.allSatisfy({ $0 >= 0 }), stride.allSatisfy({ $0 >= 0 }) else {
            throw fail("negative offset \(offset), size \(size) or stride \(stride)")
        }
        var count = 1, last = offset
        for (extent, step) in zip(size, stride) {
            let (product, overflow) = count.multipliedReportingOverflow(by: extent)
            guard !overflow, product <= Self.maxElements else {
                throw fail("size \(size) has more than \(Self.maxElements) elements")
            }
            count = product
            if extent > 0 {
                let (reach, overflow) = (extent - 1).multipliedReportingOverflow(by: step)
                let (sum, overflow2) = last.addingReportingOverflow(reach)
                guard !overflow, !overflow2 else { throw fail("stride \(stride) addresses past any storage") }
                last = sum
            }
        }
        if count > 0 {
            guard last < storage.count else {
                throw fail("offset \(offset), size \(size) and stride \(stride) reach element \(last) of a storage "
                           + "of \(storage.count)")
            }
        }
        self.storage = storage
        self.offset = offset
        self.size = size
        self.stride = stride
        elementCount = count
    }

    /// The values in row-major order, widened to Float; `bytes` is the storage's data and
    /// has been checked to hold `storage.viewOffset + storage.count` elements.
    func floats(from bytes: Data) -> [Float] {
        let type = storage.type
        let base = storage.viewOffset + offset
        return bytes.withUnsafeBytes { raw -> [Float] in
            func element(_ index: Int) -> Float {
                let at = index * type.byteSize
                switch type {
                case .f32: return raw.loadUnaligned(fromByteOffset: at, as: Float.self)
                case .f16: return floatFromFloat16Bits(raw.loadUnaligned(fromByteOffset: at, as: UInt16.self))
                case .bf16: return floatFromBFloat16Bits(raw.loadUnaligned(fromByteOffset: at, as: UInt16.self))
                case .i64: return Float(raw.loadUnaligned(fromByteOffset: at, as: Int64.self))
                }
            }
            guard elementCount > 0 else { return [] }
            // Walk the index like an odometer, innermost dimension fastest. Wrapping arithmetic:
            // a size-1 dimension may carry any stride, which is added and taken back at once.
            var result = [Float](), index = [Int](repeating: 0, count: size.count), address = base
            result.reserveCapacity(elementCount)
            for _ in 0..<elementCount {
                result.append(element(address))
                var dimension = size.count - 1
                while dimension >= 0 {
                    index[dimension] += 1
                    address &+= stride[dimension]
                    if index[dimension] < size[dimension] { break }
                    address &-= stride[dimension] &* size[dimension]
                    index[dimension] = 0
                    dimension -= 1
                }
            }
            return result
        }
    }
}

/// What REDUCE may call: the allowed globals, each checking its arguments as torch's own
/// `_rebuild_*` functions take them.
enum TorchObjects {
    struct Failure: Error, CustomStringConvertible {
        let message: String
        var description: String { message }
    }

    static func call(_ global: TorchGlobal, _ arguments: [PickleValue]) throws -> PickleValue {
        switch global {
        case .orderedDict:
            guard arguments.isEmpty else { throw Failure(message: "OrderedDict called with \(arguments.count) arguments") }
            return .dict(PickleDict())
        case .rebuildTensorV2, .rebuildTensor:
            // (storage, storage_offset, size, stride[, requires_grad, backward_hooks[, metadata]])
            guard arguments.count >= 4, arguments.count <= 7 else {
                throw Failure(message: "\(global.rawValue) called with \(arguments.count) arguments")
            }
            guard case .storage(let storage) = arguments[0] else {
                throw Failure(message: "\(global.rawValue): the storage is \(arguments[0].kind)")
            }
            for hooks in arguments.dropFirst(5).prefix(2) {
                guard case .dict(let dict) = hooks, dict.items.isEmpty else {
                    throw Failure(message: "\(global.rawValue): backward hooks or metadata that are not empty (\(hooks.kind))")
                }
            }
            return .tensor(try TorchTensor(storage: storage, offset: int(arguments[1], "storage offset"),
                                           size: ints(arguments[2], "size"), stride: ints(arguments[3], "stride")))
        case .rebuildParameter:
            // (data, requires_grad, backward_hooks): a Parameter is its tensor here.
            guard arguments.count == 3, case .tensor = arguments[0] else {
                throw Failure(message: "\(global.rawValue) called with \(arguments.map(\.kind)) instead of a tensor, a bool and hooks")
            }
            guard case .dict(let hooks) = arguments[2], hooks.items.isEmpty else {
                throw Failure(message: "\(global.rawValue): backward hooks that are not empty")
            }
            return arguments[0]
        case .floatStorage, .halfStorage, .bfloat16Storage, .longStorage:
            throw Failure(message: "\(global.rawValue) is a storage type, not something to call")
        }
    }

    static func int(_ value: PickleValue, _ what: String) throws -> Int {
        guard case .int(let number) = value else { throw Failure(message: "tensor \(what) is \(value.kind), not an int") }
        return number
    }

    static func ints(_ value: PickleValue, _ what: String) throws -> [Int] {
        guard case .tuple(let items) = value else { throw Failure(message: "tensor \(what) is \(value.kind), not a tuple") }
        return try items.map { try int($0, what) }
    }
}
