import Foundation
@testable import Interop
import Models

extension FuzzTarget {
    /// The members a `.keras` archive is read for, found through the zip's central directory. A
    /// member that reads is a piece of the archive.
    static let storedZip = FuzzTarget(name: "stored-zip", summary: "StoredZip.member: the .keras zip's central directory and local headers") { bytes in
        let archive = Data(bytes)
        for name in ["model.weights.h5", "config.json"] {
            guard let member = try? StoredZip.member(name, in: archive, file: "fuzz.keras") else { continue }
            invariant(member.count <= archive.count && (member.isEmpty || archive.range(of: member) != nil), "\(name): \(member.count) bytes")
        }
    }

    /// Architectures with a Keras counterpart, whose feature layer ends the walk.
    private static let kerasArchitectures = Architectures.all.filter { $0.kerasFeatureLayer != nil }

    /// A saved model's configuration (Keras 2 `model_config` or Keras 3 `config.json`) walked from
    /// the output back to the backbone's feature layer, then checked against SkinLesion's head. The
    /// first byte picks the architecture, the rest is the JSON.
    static let kerasConfig = FuzzTarget(name: "keras-config", summary: "KerasModelConfig and KerasHeadPlan: the configuration walk and head check") { bytes in
        guard let first = bytes.first else { return }
        let architecture = kerasArchitectures[Int(first) % kerasArchitectures.count]
        guard let config = try? KerasModelConfig(json: Data(bytes.dropFirst()), featureLayer: architecture.kerasFeatureLayer!,
                                                 file: "fuzz.keras") else { return }
        guard let plan = try? KerasHeadPlan(config.head, architecture: architecture, file: "fuzz.keras") else { return }
        invariant(!plan.dense.isEmpty && plan.batchNorms.count == plan.dense.count - 1
                  && plan.batchNorms.allSatisfy { $0.epsilon > 0 } && (plan.dropout.map { (0..<1).contains($0) } ?? true),
                  "plan \(plan.dense), \(plan.batchNorms), \(String(describing: plan.dropout))")
    }
}
