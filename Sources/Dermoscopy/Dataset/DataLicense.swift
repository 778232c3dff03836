import Foundation

/// The terms one dataset's images come under. A model trained on them inherits those terms, so
/// `train` records this in the model file and the model card, and `serve` shows it.
///
/// The public dermoscopy sets SkinLesion reads by format (HAM10000, the ISIC challenges and
/// archive, DermaMNIST) are CC BY-NC 4.0: non-commercial use only. Anything else is the user's
/// to state (`train --data-license`).
public struct DataLicense: Codable, Sendable, Equatable {
    /// The dataset's root or CSV, as given to `train`.
    public var dataset: String
    /// The licence, e.g. `CC BY-NC 4.0`, or `DataLicense.unknown`.
    public var license: String
    /// Why SkinLesion believes it: the format it detected, or that the user stated it.
    public var basis: String

    public static let nonCommercial = "CC BY-NC 4.0"
    public static let unknown = "unknown: state it yourself"
    /// HAM10000's diagnosis codes; DermaMNIST (MedMNIST v2) keeps them, being HAM10000 resized.
    static let ham10000Classes: Set<String> = ["akiec", "bcc", "bkl", "df", "mel", "nv", "vasc"]

    public init(dataset: String, license: String, basis: String) {
        (self.dataset, self.license, self.basis) = (dataset, license, basis)
    }

    /// What the format (and, for CSV manifests, the labels) say about a dataset's licence.
    public static func detected(root: URL, format: DatasetFormat, classes: [String]) -> DataLicense {
        let (license, basis): (String, String)
        switch format {
        case .ham10000:
            (license, basis) = (nonCommercial, "HAM10000 layout (Tschandl et al. 2018, doi:10.7910/DVN/DBW86T)")
        case .isic2016, .isicOneHot:
            (license, basis) = (nonCommercial, "ISIC challenge ground truth (\(format.rawValue))")
        case .isicArchive:
            (license, basis) = (nonCommercial, "ISIC archive export; archive images are CC-0, CC BY or CC BY-NC each, "
                                + "so the most restrictive is assumed unless you state it")
        case .csvManifest where !classes.isEmpty && Set(classes).isSubset(of: ham10000Classes):
            (license, basis) = (nonCommercial, "a CSV manifest labelled with HAM10000's diagnosis codes, as DermaMNIST "
                                + "(MedMNIST v2, derived from HAM10000) is")
        case .csvManifest, .folderPerClass:
            (license, basis) = (unknown, "the \(format.rawValue) format does not say; give train --data-license")
        }
        return DataLicense(dataset: root.path, license: license, basis: basis)
    }

    /// A licence the user gave with `train --data-license`.
    public static func stated(_ license: String, for dataset: String) -> DataLicense {
        DataLicense(dataset: dataset, license: license, basis: "stated with train --data-license")
    }

    /// The card's and the README's words on what a model inherits.
    public static func inheritedTerms(_ licenses: [DataLicense]) -> String {
        if licenses.contains(where: { $0.license == nonCommercial }) {
            return "Some training images are \(nonCommercial) (non-commercial use only, with attribution), and a model trained "
                + "on them carries that non-commercial term: use it for research, not in a commercial product or service."
        }
        if licenses.contains(where: { $0.license == unknown }) {
            return "The licence of some training data is unknown; state it (train --data-license) before sharing this model."
        }
        return "The model carries the terms of the licences above."
    }
}
