/// Finds the state dict inside what a checkpoint pickled: the dict itself when every value
/// is a tensor (`torch.save(model.state_dict())`), or the one under a training script's key
/// (`{'epoch': …, 'state_dict': …, 'optimizer': …}`), and removes DataParallel's `module.`.
enum TorchStateDictLocator {
    /// Keys that training scripts put the model's weights under, in the order they are tried.
    static let wrappers = ["state_dict", "model_state_dict", "model"]
    /// `{'model': {'state_dict': …}}` is as deep as real checkpoints go.
    static let maxUnwrapping = 3
    static let dataParallelPrefix = "module."

    static func find(in value: PickleValue, file: String) throws -> (tensors: [(name: String, tensor: TorchTensor)],
                                                                     unwrapped: [String], strippedModulePrefix: Bool) {
        var current = value, path: [String] = []
        while true {
            guard case .dict(let dict) = current else {
                throw WeightFileError(file: file, "\(describe(path)) is \(current.kind), not a dict of tensors")
            }
            if let tensors = tensors(of: dict) { return named(tensors, path: path) }
            guard path.count < maxUnwrapping, let key = wrappers.first(where: { dict[$0] != nil }) else {
                let keys = dict.items.prefix(12).map { key, value in "\(key.label) (\(value.kind))" }
                throw WeightFileError(file: file, "no state dict: \(describe(path)) holds \(keys.joined(separator: ", "))"
                                      + (dict.items.count > 12 ? ", …" : "") + "; a state dict maps names to tensors, "
                                      + "as the checkpoint itself or under \(wrappers.map { "'\($0)'" }.joined(separator: ", "))")
            }
            path.append(key)
            current = dict[key]!
        }
    }

    /// The dict's entries when it is a state dict: non-empty, string keys, tensor values.
    private static func tensors(of dict: PickleDict) -> [(String, TorchTensor)]? {
        guard !dict.items.isEmpty else { return nil }
        var tensors: [(String, TorchTensor)] = []
        for (key, value) in dict.items {
            guard case .string(let name) = key, case .tensor(let tensor) = value else { return nil }
            tensors.append((name, tensor))
        }
        return tensors
    }

    private static func named(_ tensors: [(String, TorchTensor)],
                              path: [String]) -> ([(name: String, tensor: TorchTensor)], [String], Bool) {
        let strip = tensors.allSatisfy { $0.0.hasPrefix(dataParallelPrefix) }
        let named = tensors.map { (name: strip ? String($0.0.dropFirst(dataParallelPrefix.count)) : $0.0, tensor: $0.1) }
        return (named, path, strip)
    }

    private static func describe(_ path: [String]) -> String {
        path.isEmpty ? "the checkpoint" : "'" + path.joined(separator: "' → '") + "'"
    }
}

private extension PickleValue {
    /// A dict key as a message shows it.
    var label: String {
        switch self {
        case .string(let text): "'\(text)'"
        case .int(let number): "\(number)"
        default: kind
        }
    }
}
