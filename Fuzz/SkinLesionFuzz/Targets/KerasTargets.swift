import Foundation
@testable import Interop
import Models

extension FuzzTarget {
    /// A saved model's configuration (Keras 2 `model_config` or Keras 3 `config.json`) walked from
    /// the output back to the backbone's feature layer, then checked against SkinLesion's head. The
    /// first line names the architecture (`--arch` of `skinlesion import`), the rest is the JSON.
    static let kerasConfig = FuzzTarget(name: "keras-config", summary: "KerasModelConfig and KerasHeadPlan: the configuration walk and head check") { bytes in
        let newline = bytes.firstIndex(of: UInt8(ascii: "\n")) ?? bytes.count
        guard let architecture = try? Architectures.named(String(decoding: bytes[..<newline], as: UTF8.self)),
              let featureLayer = architecture.kerasFeatureLayer else { return }
        guard let config = try? KerasModelConfig(json: Data(bytes[min(newline + 1, bytes.count)...]), featureLayer: featureLayer,
                                                 file: "fuzz.keras") else { return }
        guard let plan = try? KerasHeadPlan(config.head, architecture: architecture, file: "fuzz.keras") else { return }
        invariant(!plan.dense.isEmpty && plan.batchNorms.count == plan.dense.count - 1
                  && plan.batchNorms.allSatisfy { $0.epsilon > 0 } && (plan.dropout.map { (0..<1).contains($0) } ?? true),
                  "plan \(plan.dense), \(plan.batchNorms), \(String(describing: plan.dropout))")
    }
}
