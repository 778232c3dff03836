import Dermoscopy
import Foundation
import NeuralNet

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
