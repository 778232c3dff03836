import Dermoscopy
import Foundation
import Inference
import NeuralNet
@testable import Training

/// A tiny image dataset written to disk for tests that run `skinlesion train` end to end:
/// `perClass` PNGs of `side`×`side` per class (a class-specific colour plus seeded noise, so
/// there is something to learn) and a `labels.csv` manifest (`image,label`).
enum SyntheticLesions {
    static func write(to root: URL, classes: [String], perClass: Int, side: Int = 40, seed: UInt64 = 1) throws {
        try FileManager.default.createDirectory(at: root.appendingPathComponent("images"), withIntermediateDirectories: true)
        var rng = SeededGenerator(seed: seed)
        var lines = ["image,label"]
        for (c, label) in classes.enumerated() {
            let base = [UInt8(60 + 120 * c % 180), UInt8(140 - 40 * c % 120), UInt8(90 + 30 * c % 150)]
            for i in 0..<perClass {
                let pixels = (0..<(side * side * 3)).map { k in UInt8(clamping: Int(base[k % 3]) + Int(rng.next() % 61) - 30) }
                let name = "images/\(label)_\(i).png"
                try PNGEncoder.encode(RGBImage(width: side, height: side, pixels: pixels)).write(to: root.appendingPathComponent(name))
                lines.append("\(name),\(label)")
            }
        }
        try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: root.appendingPathComponent("labels.csv"))
    }
}

/// A real `skinlesion train` run small enough to repeat many times in a test: EfficientNet-Lite0
/// at 32×32 fine-tuning its last block (warmup epoch on the head first), augmentation, EMA,
/// AdamW + cosine, a checkpoint after every step; 4 epochs of 5 steps.
struct TinyTraining {
    let data: URL

    init(in directory: URL) throws {
        data = directory.appendingPathComponent("data")
        try SyntheticLesions.write(to: data, classes: ["mel", "nv"], perClass: 16, side: 32)
    }

    func arguments(output: URL) -> [String] {
        ["train", "--dataset", data.path, "--arch", "efficientnet-lite0", "--image-size", "32", "--epochs", "4",
         "--batch-size", "4", "--freeze", "_blocks.15", "--warmup-epochs", "1", "--ema", "0.9", "--seed", "5",
         "--checkpoint-every", "1", "--output", output.path]
    }

    /// Every checkpoint and model file in `run` opens, holds readable tensors and its metadata
    /// decodes; returns how many checkpoints there are.
    @discardableResult
    static func checkReadable(_ run: RunDirectory) throws -> Int {
        let checkpoints = run.existingCheckpoints()
        for url in checkpoints {
            let file = try SafeTensorsFile(contentsOf: url)
            _ = try JSONDecoder().decode(TrainingProgress.self, from: Data((file.metadata["progress"] ?? "").utf8))
            for name in file.names where file.entries[name]?.dtype != .i64 { _ = try file.floats(name) }
        }
        if FileManager.default.fileExists(atPath: run.bestModel.path) {
            let file = try SafeTensorsFile(contentsOf: run.bestModel)
            _ = try JSONDecoder().decode(ModelMetadata.self, from: Data((file.metadata["skinlesion"] ?? "").utf8))
            for name in file.names where file.entries[name]?.dtype != .i64 { _ = try file.floats(name) }
        }
        return checkpoints.count
    }
}
