import Foundation

/// The weights of every Keras layer that has any, read from any of the files Keras writes,
/// flattened out of nested models (a user's `Sequential([base, GlobalAveragePooling2D(),
/// Dense(...)])` nests the whole backbone in one layer).
///
/// Layouts, as Keras writes them (checked against files saved by pip keras 3.15):
/// - Keras 2 weights (`model.save_weights("x.h5")`, Keras Applications'
///   `*_weights_tf_dim_ordering_tf_kernels(_notop).h5`): root attribute `layer_names`; each
///   layer's group lists its arrays in `weight_names` (`conv2d/kernel:0`), the datasets
///   living at those paths below the group. A nested model's group lists all its layers'
///   arrays, trainable ones first.
/// - Keras 2 full models (`model.save("x.h5")`): the same below a `model_weights` group, the
///   model's configuration as JSON in the root attribute `model_config`.
/// - Keras 3 `.weights.h5`: `layers/<key>/vars/0…n` in the layer's own order, with the
///   layer's real name as the `name` attribute of `vars` (the key is derived from the class,
///   not the name); nested models continue under `layers/<key>/layers/…`.
/// - Keras 3 `.keras`: a zip whose `model.weights.h5` is the above and whose `config.json`
///   is the model's configuration.
public struct KerasWeightFile {
    /// One array: Keras's weight name where the file records it (`kernel`, `moving_mean`;
    /// Keras 3 files record only the position), its Keras shape and its values.
    public struct Array {
        public let name: String
        public let shape: [Int]
        public let values: [Float]
    }

    public struct Layer {
        public let name: String
        public let arrays: [Array]
    }

    public enum Format: String { case keras2Weights = "Keras 2 weights .h5", keras2Model = "Keras 2 model .h5",
                                      keras3Weights = "Keras 3 .weights.h5", keras3Archive = "Keras 3 .keras" }

    public let file: String
    public let format: Format
    /// Layers with weights, in the file's order (meaningful for Keras 2; Keras 3 files order
    /// groups by name, so the importer matches by name and structure, never by position).
    public let layers: [Layer]
    /// The saved model's configuration (JSON), which full models carry and weights-only
    /// files do not; the importer checks the head's operations against it.
    public let modelConfig: Data?

    public init(contentsOf url: URL) throws {
        file = url.lastPathComponent
        let head = (try? FileHandle(forReadingFrom: url).read(upToCount: 4)) ?? nil
        if let head, [UInt8](head) == ZipArchive.signature {
            let archive = try ZipArchive(url: url)
            let hdf5 = try HDF5File(bytes: archive.data("model.weights.h5"), name: "\(file)/model.weights.h5")
            format = .keras3Archive
            layers = try Self.keras3Layers(hdf5.root)
            modelConfig = try archive.data("config.json")
            return
        }
        let hdf5 = try HDF5File(contentsOf: url)
        let root = hdf5.root
        if root.isGroup("model_weights") {
            format = .keras2Model
            layers = try Self.keras2Layers(root.group("model_weights"))
            // Keras 2 wrote the configuration of every saved model; a file without one was
            // not written by `model.save` and is read like a weights-only file.
            modelConfig = root.hasAttribute("model_config") ? try root.strings("model_config").first.map { Data($0.utf8) } : nil
        } else if root.hasAttribute("layer_names") || root.hasAttribute("layer_names0") {
            format = .keras2Weights
            layers = try Self.keras2Layers(root)
            modelConfig = nil
        } else if root.isGroup("layers") || root.isGroup("vars") {
            format = .keras3Weights
            layers = try Self.keras3Layers(root)
            modelConfig = nil
        } else {
            throw KerasImportError(file: file, "an HDF5 file but not a Keras one: no 'layer_names' (Keras 2), "
                                   + "'model_weights' (Keras 2 model) or 'layers' (Keras 3) at the root")
        }
    }

    /// Keras's own order of a layer's arrays, used to put Keras 2 arrays (whose nested-model
    /// lists put trainable arrays first) back in layer order.
    static let canonicalOrder = ["depthwise_kernel", "pointwise_kernel", "kernel", "gamma", "beta",
                                 "moving_mean", "moving_variance", "bias"]

    static func keras2Layers(_ group: HDF5Group) throws -> [Layer] {
        var layers: [Layer] = []
        for layerName in try group.strings("layer_names") {
            let layerGroup = try group.group(layerName)
            let weightNames = try layerGroup.strings("weight_names")
            // Arrays by the layer that owns them: everything before the last "/" of the name.
            var owners: [String] = [], arrays: [String: [Array]] = [:]
            for weightName in weightNames {
                let parts = weightName.split(separator: "/").map(String.init)
                let owner = parts.dropLast().joined(separator: "/")
                if arrays[owner] == nil { owners.append(owner) }
                let data = try layerGroup.floats(weightName)
                let short = parts.last!.replacingOccurrences(of: ":0", with: "")
                arrays[owner, default: []].append(Array(name: short, shape: data.shape, values: data.values))
            }
            for owner in owners {
                var list = arrays[owner]!
                if list.allSatisfy({ canonicalOrder.contains($0.name) }) {
                    list.sort { canonicalOrder.firstIndex(of: $0.name)! < canonicalOrder.firstIndex(of: $1.name)! }
                }
                // A plain layer's arrays share one owner path, which may carry scopes
                // (`sequential/dense`); the layer is then the group. A nested model's
                // arrays have one owner per inner layer.
                layers.append(Layer(name: owners.count == 1 ? layerName : owner, arrays: list))
            }
        }
        return layers
    }

    static func keras3Layers(_ group: HDF5Group) throws -> [Layer] {
        var layers: [Layer] = []
        if group.isGroup("vars") {
            let vars = try group.group("vars")
            let indices = try vars.childNames().compactMap(Int.init).sorted()
            if !indices.isEmpty {
                let name = vars.hasAttribute("name") ? try vars.strings("name").first ?? "" : group.path
                let arrays = try indices.map { index -> Array in
                    let data = try vars.floats("\(index)")
                    return Array(name: "\(index)", shape: data.shape, values: data.values)
                }
                layers.append(Layer(name: name, arrays: arrays))
            }
        }
        if group.isGroup("layers") {
            let children = try group.group("layers")
            for key in try children.childNames() { layers += try keras3Layers(children.group(key)) }
        }
        return layers
    }
}
