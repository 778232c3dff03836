/// One labelled image. Everything downstream (splits, sampling, training) works on these, whatever the
/// source format was, so a record carries the grouping keys that keep a lesion out of two splits.
public struct DatasetRecord: Sendable, Equatable, Codable {
    /// The image's identity, e.g. `ISIC_0024306`: the key for de-duplication and for split manifests.
    public var imageID: String
    /// Image path relative to the dataset root, or absolute (merged datasets).
    public var path: String
    /// Class name: lower-case for HAM10000 / ISIC (`akiec bcc bkl df mel nv vasc`, `benign malignant`).
    public var label: String
    /// Grouping key: every image of one lesion must land in the same split (HAM10000 `lesion_id`).
    public var lesionID: String?
    public var patientID: String?
    /// The source's official split (`train`, `val`, `test`) when it has one.
    public var split: String?
    /// Everything else the source knows about the image: age, sex, localization, dx_type, ...
    public var metadata: [String: String]

    public init(imageID: String, path: String, label: String, lesionID: String? = nil, patientID: String? = nil,
                split: String? = nil, metadata: [String: String] = [:]) {
        self.imageID = imageID
        self.path = path
        self.label = label
        self.lesionID = lesionID
        self.patientID = patientID
        self.split = split
        self.metadata = metadata
    }
}
