/// What the restricted unpickler builds: the Python values a checkpoint is made of (None,
/// bools, ints, floats, strings, tuples, lists, dicts) and the torch objects its few allowed
/// globals construct. Nothing else can exist, so nothing else can run.
indirect enum PickleValue {
    case none
    case bool(Bool)
    case int(Int)
    /// An integer wider than 64 bits, as LONG1 stores it (little-endian two's complement);
    /// only the legacy format's magic number is one.
    case wideInt([UInt8])
    case float(Double)
    case string(String)
    case bytes([UInt8])
    case tuple([PickleValue])
    /// Lists and dicts are references, because APPEND and SETITEM change the object that the
    /// memo also holds.
    case list(PickleList)
    case dict(PickleDict)
    /// An allowed global, before REDUCE calls it (or as a storage type in a persistent id).
    case global(TorchGlobal)
    /// A persistent id the checkpoint format resolved.
    case storage(TorchStorage)
    case tensor(TorchTensor)

    /// Names the kind in error messages.
    var kind: String {
        switch self {
        case .none: "None"
        case .bool: "a bool"
        case .int, .wideInt: "an int"
        case .float: "a float"
        case .string: "a string"
        case .bytes: "bytes"
        case .tuple: "a tuple"
        case .list: "a list"
        case .dict: "a dict"
        case .global(let global): global.rawValue
        case .storage: "a storage"
        case .tensor: "a tensor"
        }
    }
}

final class PickleList {
    var items: [PickleValue] = []
}

/// A dict (plain or OrderedDict; both keep insertion order in Python 3). String keys are
/// indexed, as state dicts are looked up by name; a repeated key replaces its value, as in
/// Python.
final class PickleDict {
    private(set) var items: [(key: PickleValue, value: PickleValue)] = []
    private var stringIndex: [String: Int] = [:]

    func set(_ key: PickleValue, _ value: PickleValue) {
        if case .string(let name) = key {
            if let index = stringIndex[name] {
                items[index].value = value
                return
            }
            stringIndex[name] = items.count
        }
        items.append((key, value))
    }

    subscript(name: String) -> PickleValue? { stringIndex[name].map { items[$0].value } }
}

/// The only globals a state dict needs, by the `module.name` pickle writes. Any other is
/// refused by name before anything is looked up, so no code outside this list can be reached.
enum TorchGlobal: String, CaseIterable {
    case orderedDict = "collections.OrderedDict"
    case rebuildTensorV2 = "torch._utils._rebuild_tensor_v2"
    /// What torch before 0.4 wrote instead of `_rebuild_tensor_v2` (no requires_grad, no hooks).
    case rebuildTensor = "torch._utils._rebuild_tensor"
    case rebuildParameter = "torch._utils._rebuild_parameter"
    case floatStorage = "torch.FloatStorage"
    case halfStorage = "torch.HalfStorage"
    case bfloat16Storage = "torch.BFloat16Storage"
    case longStorage = "torch.LongStorage"

    var storageType: TorchStorage.ElementType? {
        switch self {
        case .floatStorage: .f32
        case .halfStorage: .f16
        case .bfloat16Storage: .bf16
        case .longStorage: .i64
        default: nil
        }
    }
}
