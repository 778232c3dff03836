/// What must never be divided between splits. Images of one lesion are near-duplicates; letting them land in
/// train and test is how many HAM10000 results get inflated.
public enum GroupKey: String, Codable, Sendable {
    case lesion, patient, image

    /// The record's group. A record without the chosen key falls back to the next finer one (patient →
    /// lesion → image), so it is grouped as tightly as its source allows rather than dropped.
    func group(of record: DatasetRecord) -> String {
        switch self {
        case .patient:
            if let patient = record.patientID { return "patient:" + patient }
            return GroupKey.lesion.group(of: record)
        case .lesion:
            if let lesion = record.lesionID { return "lesion:" + lesion }
            return GroupKey.image.group(of: record)
        case .image:
            return "image:" + record.imageID
        }
    }

    /// How many records lack the key and were grouped by a finer one; manifests say so, since a "lesion"
    /// split of a source without lesion ids is only an image split.
    func fallbackCount(in records: [DatasetRecord]) -> Int {
        switch self {
        case .patient: records.filter { $0.patientID == nil }.count
        case .lesion: records.filter { $0.lesionID == nil }.count
        case .image: 0
        }
    }
}
