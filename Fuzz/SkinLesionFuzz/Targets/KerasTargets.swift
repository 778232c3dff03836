import Foundation
@testable import Interop
import Models

extension FuzzTarget {
    /// A saved model's configuration (Keras 2 `model_config` or Keras 3 `config.json`) walked
    /// whole by `KerasGraph` and `KerasModelPlan`: every layer placed (preprocessing, backbone,
    /// head, metadata branch) or refused. The first line names the architecture (`--arch` of
    /// `skinlesion import`), the rest is the JSON.
    static let kerasConfig = FuzzTarget(name: "keras-config", summary: "KerasGraph and KerasModelPlan: the whole-graph walk and head check") { bytes in
        let newline = bytes.firstIndex(of: UInt8(ascii: "\n")) ?? bytes.count
        guard let architecture = try? Architectures.named(String(decoding: bytes[..<newline], as: UTF8.self)),
              let mapping = try? KerasImporter.backboneMapping(architecture, file: "fuzz.keras") else { return }
        guard let graph = try? KerasGraph(json: Data(bytes[min(newline + 1, bytes.count)...]), file: "fuzz.keras"),
              let plan = try? KerasModelPlan(graph, architecture: architecture, mapping: mapping, file: "fuzz.keras") else { return }
        let head = plan.head.config
        invariant(head.layers.allSatisfy { layer in
            switch layer {
            case .dense(let units): return units > 0
            case .dropout(let rate): return (0..<1).contains(rate)
            case .batchNorm, .activation: return true
            }
        }, "head \(head.summary)")
        invariant(plan.inputSize.map { $0 > 0 } ?? true, "input size \(String(describing: plan.inputSize))")
        if let metadata = plan.metadata {
            invariant(!metadata.hidden.isEmpty && metadata.hidden.allSatisfy { $0 > 0 } && (0..<1).contains(metadata.dropout),
                      "metadata branch \(metadata.hidden), dropout \(metadata.dropout)")
        }
    }
}
