/// What a dataset holds, before any training: class balance per split, how many images each lesion has,
/// duplicates, missing or unreadable files, and image sizes. Codable so the CLI can emit it as JSON.
public struct InspectionReport: Sendable, Codable, Equatable {
    /// Images per class in one split, aligned with `InspectionReport.classes`.
    public struct SplitCounts: Sendable, Codable, Equatable {
        public var split: String
        public var counts: [Int]
        public var total: Int { counts.reduce(0, +) }

        public init(split: String, counts: [Int]) {
            self.split = split
            self.counts = counts
        }
    }

    public struct ImageSize: Sendable, Codable, Equatable {
        public var width: Int
        public var height: Int
        public var count: Int

        public init(width: Int, height: Int, count: Int) {
            self.width = width
            self.height = height
            self.count = count
        }
    }

    public struct SizeStatistics: Sendable, Codable, Equatable {
        /// Images whose size was read.
        public var measured: Int
        public var minWidth: Int
        public var maxWidth: Int
        public var meanWidth: Double
        public var minHeight: Int
        public var maxHeight: Int
        public var meanHeight: Double
        /// Up to five sizes, most frequent first.
        public var mostCommon: [ImageSize]
    }

    public struct UnreadableFile: Sendable, Codable, Equatable {
        public var path: String
        public var reason: String

        public init(path: String, reason: String) {
            self.path = path
            self.reason = reason
        }
    }

    public var images: Int
    /// Distinct lesion ids; nil when the source has none (then grouping by lesion is grouping by image).
    public var lesions: Int?
    public var classes: [String]
    /// Per split of the manifest (train, val, test first), or one `all` row without a manifest. Records the
    /// manifest does not list are counted under `unassigned`.
    public var classCounts: [SplitCounts]
    /// Images per lesion → number of lesions with that many: anything above 1 is what a per-image split leaks.
    public var imagesPerLesion: [Int: Int]
    /// The loader's duplicate-image problems, as text.
    public var duplicates: [String]
    /// Record paths with no file behind them.
    public var missingFiles: [String]
    public var unreadableFiles: [UnreadableFile]
    /// nil when no size could be read.
    public var imageSizes: SizeStatistics?
    /// The loader's problems counted by kind.
    public var problemCounts: [String: Int]
}
