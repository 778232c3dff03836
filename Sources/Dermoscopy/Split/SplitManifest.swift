/// Which split (and fold) every image belongs to. Entries are keyed by image id, not record index, so the
/// manifest stays valid when the dataset is reloaded, and carry path, label and group ids so the CSV can be
/// audited on its own.
public struct SplitManifest: Sendable, Equatable {
    public struct Entry: Sendable, Equatable, Codable {
        public var imageID: String
        public var path: String
        public var label: String
        public var lesionID: String?
        public var patientID: String?
        /// `train`, `val`, `test` (or the official names); `fold0`…`fold<k-1>` for k-fold manifests.
        public var split: String
        /// 0-based fold for k-fold manifests.
        public var fold: Int?

        public init(imageID: String, path: String, label: String, lesionID: String? = nil, patientID: String? = nil,
                    split: String, fold: Int? = nil) {
            self.imageID = imageID
            self.path = path
            self.label = label
            self.lesionID = lesionID
            self.patientID = patientID
            self.split = split
            self.fold = fold
        }

        init(_ record: DatasetRecord, split: String, fold: Int? = nil) {
            self.init(imageID: record.imageID, path: record.path, label: record.label, lesionID: record.lesionID,
                      patientID: record.patientID, split: split, fold: fold)
        }
    }

    public var entries: [Entry]
    /// The dataset's classes when the split was made, in label-index order.
    public var classes: [String]
    public var seed: UInt64
    /// How the split was made, in words (grouping, stratification, fractions).
    public var plan: String

    public init(entries: [Entry], classes: [String], seed: UInt64, plan: String) {
        self.entries = entries
        self.classes = classes
        self.seed = seed
        self.plan = plan
    }

    /// The split names present, train / val / test first.
    public var splits: [String] {
        Set(entries.map(\.split)).sorted(by: OfficialSplitName.precedes)
    }

    /// The dataset's records assigned to `split`, in manifest order. Entries whose image is no longer in the
    /// dataset are left out.
    public func records(in split: String, of dataset: Dataset) -> [DatasetRecord] {
        records(of: dataset) { $0.split == split }
    }

    /// Cross-validation round `fold` of a k-fold manifest: that fold validates, the others train.
    public func crossValidation(fold: Int, of dataset: Dataset) -> (train: [DatasetRecord], val: [DatasetRecord]) {
        (records(of: dataset) { $0.fold != nil && $0.fold != fold }, records(of: dataset) { $0.fold == fold })
    }

    private func records(of dataset: Dataset, where include: (Entry) -> Bool) -> [DatasetRecord] {
        let byID = Dictionary(dataset.records.map { ($0.imageID, $0) }, uniquingKeysWith: { first, _ in first })
        return entries.filter(include).compactMap { byID[$0.imageID] }
    }
}
