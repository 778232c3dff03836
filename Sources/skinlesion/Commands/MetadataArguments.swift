import ArgumentParser
import Training

/// `train`'s patient-metadata options (Gessert et al. 2019; Ha et al. 2020).
struct MetadataArguments: ParsableArguments {
    @Option(name: .customLong("metadata"), help: ArgumentHelp(
        "Fuse these metadata columns with the image, comma-separated: any column of the dataset, or age, sex, site "
            + "(HAM10000's age,sex,localization; ISIC's age_approx,sex,anatom_site_general).", valueName: "fields"))
    var fields: String?

    @Option(name: .customLong("metadata-dropout"), help: "Probability that a training sample's metadata field is set to missing.")
    var featureDropout: Float = 0.1

    @Option(name: .customLong("metadata-hidden"), help: "Widths of the metadata branch's Dense → BatchNorm → ReLU → Dropout layers, comma-separated.")
    var hidden = "128"

    @Option(name: .customLong("metadata-branch-dropout"), help: "Dropout after each metadata branch layer.")
    var branchDropout: Float = 0.3

    @Option(name: .customLong("metadata-stage"), help: ArgumentHelp("joint (image and metadata train together) or after-image "
            + "(image-only epochs first, then the backbone frozen while the metadata branch and head train)."))
    var stage = "joint"

    @Option(name: .customLong("image-epochs"), help: "With --metadata-stage after-image: image-only epochs before the metadata epochs (default: half).")
    var imageEpochs: Int?

    func config(epochs: Int) throws -> MetadataTraining? {
        guard let fields else {
            guard stage == "joint", imageEpochs == nil else { throw ValidationError("--metadata-stage and --image-epochs need --metadata") }
            return nil
        }
        var config = MetadataTraining(features: fields.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
        config.featureDropout = featureDropout
        config.branchDropout = branchDropout
        config.hidden = try hidden.split(separator: ",").map {
            guard let width = Int($0.trimmingCharacters(in: .whitespaces)) else {
                throw ValidationError("--metadata-hidden takes widths like 128 or 256,128, got '\(hidden)'")
            }
            return width
        }
        switch stage {
        case "joint":
            guard imageEpochs == nil else { throw ValidationError("--image-epochs goes with --metadata-stage after-image") }
        case "after-image": config.stage = .afterImage(imageEpochs: imageEpochs ?? max(1, epochs / 2))
        default: throw ValidationError("--metadata-stage must be joint or after-image, got '\(stage)'")
        }
        return config
    }
}
