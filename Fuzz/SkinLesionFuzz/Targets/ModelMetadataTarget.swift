import Foundation
import Inference
import NeuralNet

extension FuzzTarget {
    /// The `skinlesion` metadata of a model file (architecture, class names, head, input size,
    /// preprocessing, calibration, training summary, metadata spec and fusion head), written by
    /// the safetensors writer into a file that holds no tensors and read back through
    /// `ModelFile.metadata(of:)`: decoding, format version, every bound of `ModelLimits`, the fusion
    /// head against its spec; all that `load` checks before it builds the network. Metadata that
    /// passes must render its model card (`card`, `/v1/model`), store and read back unchanged
    /// (`calibrate` rewrites it), and its spec must encode an image without metadata to finite
    /// values.
    static let modelMetadata = FuzzTarget(name: "model-metadata", summary: "ModelFile.metadata(of:): the model file's metadata JSON and its bounds") { bytes in
        var writer = SafeTensorsWriter()
        writer.metadata["skinlesion"] = String(decoding: bytes, as: UTF8.self)
        let url = ScratchFile.write(UnsafeRawBufferPointer(start: nil, count: 0), as: "model.safetensors")
        guard (try? writer.write(to: url)) != nil, let file = try? SafeTensorsFile(contentsOf: url),
              let metadata = try? ModelFile.metadata(of: file) else { return }
        invariant(!ModelCard.markdown(metadata, file: "model.safetensors").isEmpty, "an empty card")
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        do {
            let stored = try JSONDecoder().decode(ModelMetadata.self, from: encoder.encode(metadata))
            invariant(stored == metadata, "metadata does not store and read back unchanged")
        } catch {
            invariant(false, "metadata that was read does not store and read back: \(error)")
        }
        if let spec = metadata.metadataSpec {
            let missing = try? spec.encode([:])
            invariant(missing.map { $0.vector.count == spec.width && $0.vector.allSatisfy(\.isFinite) } ?? false,
                      "the spec does not encode an image without metadata: \(String(describing: missing))")
        }
    }
}
