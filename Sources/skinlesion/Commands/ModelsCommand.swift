import ArgumentParser
import Foundation
import Models

/// `skinlesion models`: what `--arch` accepts, with the figures a user checks a
/// conversion against (parameter count with the 1000-class ImageNet head, counted as the
/// weights' source counts it: Keras includes BatchNorm's moving statistics).
struct ModelsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "models",
        abstract: "List the architectures with parameter count, input size and preprocessing."
    )

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    func validate() throws { try OneProcess.require("models", consequence: "each rank would print the list") }

    func run() throws {
        let rows = try Architectures.all.map { arch -> [String: String] in
            let count = try arch.build(classes: 1000, head: .linear).publishedParameterCount
            return ["name": arch.name, "description": arch.summary, "parameters": "\(count)",
                    "input_size": "\(arch.inputSize)", "preprocessing": arch.preprocessing.summary]
        }
        if json {
            let data = try JSONSerialization.data(withJSONObject: rows, options: [.prettyPrinted, .sortedKeys])
            print(String(decoding: data, as: UTF8.self))
            return
        }
        print("name                parameters (1000-class head)  input    preprocessing")
        for row in rows {
            let count = Int(row["parameters"]!)!.formatted(.number.grouping(.automatic))
            print(row["name"]!.padding(toLength: 20, withPad: " ", startingAt: 0)
                  + count.padding(toLength: 30, withPad: " ", startingAt: 0)
                  + "\(row["input_size"]!)²".padding(toLength: 9, withPad: " ", startingAt: 0)
                  + row["preprocessing"]!)
        }
    }
}
