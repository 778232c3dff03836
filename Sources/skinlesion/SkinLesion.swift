import ArgumentParser

@main
struct SkinLesion: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "skinlesion",
        abstract: "Train, evaluate, explain and serve CNN classifiers for dermatoscopic images.",
        discussion: "Research use only: SkinLesion is not a medical device and does not diagnose.",
        version: version,
        subcommands: [ModelsCommand.self, DatasetCommand.self, TrainCommand.self, TuneCommand.self, EvaluateCommand.self, CalibrateCommand.self,
                      PredictCommand.self, ServeCommand.self, CardCommand.self, ImportCommand.self, ExportCommand.self, QuantizeCommand.self,
                      BenchCommand.self, BenchDecodeCommand.self, BenchLoaderCommand.self]
    )

    /// This build's version, recorded in every run directory.
    static let version = "0.1.0"
}
