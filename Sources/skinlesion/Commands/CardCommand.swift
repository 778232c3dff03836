import ArgumentParser
import Foundation
import Inference

/// `skinlesion card`: the model card of a model file, in Markdown.
struct CardCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "card",
        abstract: "Print a model's card: architecture, data, split protocol, metrics, calibration, intended use and limits."
    )

    @Option(help: "Model file.") var model: String

    func run() throws {
        let url = URL(fileURLWithPath: model)
        let (_, metadata) = try ModelFile.load(from: url)
        print(ModelCard.markdown(metadata, file: url.lastPathComponent), terminator: "")
    }
}
