import ArgumentParser

@main
struct SkinLesion: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "skinlesion",
        abstract: "Train, evaluate, explain and serve CNN classifiers for dermatoscopic images.",
        discussion: "Research use only: SkinLesion is not a medical device and does not diagnose.",
        subcommands: [ModelsCommand.self, DatasetCommand.self, BenchCommand.self, BenchDecodeCommand.self, BenchLoaderCommand.self]
    )
}
