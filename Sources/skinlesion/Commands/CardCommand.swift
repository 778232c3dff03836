import ArgumentParser
import Foundation
import Inference
import NeuralNet

/// `skinlesion card`: the model card of a model file, in Markdown.
struct CardCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "card",
        abstract: "Print a model's card: architecture, data, split protocol, metrics, calibration, intended use and limits."
    )

    @Option(help: "Model file.") var model: String

    func validate() throws { try OneProcess.require("card", consequence: "each rank would print the card") }

    func run() throws {
        let url = URL(fileURLWithPath: model)
        // The card is the metadata's: the network is not built, so a card prints at once even for VGG19.
        let metadata = try ModelFile.metadata(of: SafeTensorsFile(contentsOf: url))
        print(ModelCard.markdown(metadata, file: url.lastPathComponent), terminator: "")
    }
}
