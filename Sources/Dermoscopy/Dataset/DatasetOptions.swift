/// How to read a dataset when auto-detection is not enough. Every field has a working default, so
/// `DatasetOptions()` loads the common layouts unchanged.
public struct DatasetOptions: Sendable {
    /// Skip detection and read the path as this format.
    public var format: DatasetFormat?
    /// CSV-manifest column names; when nil the loader looks for the usual names (case-insensitive):
    /// image `path, image_path, filepath, file, filename, image, image_name, image_id`;
    /// label `label, dx, class, diagnosis, target`; split `split, fold_name, subset`;
    /// group `lesion_id, lesion, group, group_id`; patient `patient_id, patient`.
    public var imageColumn: String?
    public var labelColumn: String?
    public var splitColumn: String?
    public var groupColumn: String?
    public var patientColumn: String?
    /// The classes to keep, in label-index order; a record with any other label becomes an `unknownLabel`
    /// problem. When nil the classes are the labels found, sorted.
    public var classes: [String]?
    /// Look for every image file and report the absent ones as `missingImage`. When false nothing on disk is
    /// searched or checked and paths are where the format conventionally keeps images — fast, for labels only.
    public var checkFiles: Bool = true

    public init() {}
}
