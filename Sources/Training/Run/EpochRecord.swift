import Foundation
import NeuralNet

/// One row of the per-epoch log (`log.csv`, `log.json`).
public struct EpochRecord: Codable, Sendable, Equatable {
    public var epoch: Int
    public var stage: String
    public var learningRate: Float
    public var trainLoss: Double
    public var trainImagesPerSecond: Double
    public var valLoss: Double
    public var valAccuracy: Double
    public var valBalancedAccuracy: Double
    public var valMacroAUC: Double?
    public var best: Bool
    /// Processes the epoch was trained by (absent in logs from before data-parallel training).
    public var ranks: Int?

    static let header = "epoch,stage,learning_rate,train_loss,train_images_per_s,val_loss,val_accuracy,val_balanced_accuracy,val_macro_auc,best,ranks"

    var csvRow: String {
        [String(epoch), stage, String(learningRate), String(trainLoss), String(format: "%.2f", trainImagesPerSecond),
         String(valLoss), String(valAccuracy), String(valBalancedAccuracy), valMacroAUC.map { String($0) } ?? "",
         String(best), ranks.map { String($0) } ?? ""].joined(separator: ",")
    }

    /// Rewrites both logs whole (they are small), each atomically.
    static func write(_ records: [EpochRecord], to run: RunDirectory) throws {
        let csv = ([header] + records.map(\.csvRow)).joined(separator: "\n") + "\n"
        try AtomicFile.write(Data(csv.utf8), to: run.logCSV)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFile.write(encoder.encode(records), to: run.logJSON)
    }

    public static func read(from run: RunDirectory) -> [EpochRecord] {
        guard let data = try? Data(contentsOf: run.logJSON) else { return [] }
        return (try? JSONDecoder().decode([EpochRecord].self, from: data)) ?? []
    }
}
