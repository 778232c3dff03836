/// Sources spell their split names in many ways (`Train`, `validation`, `valid`, `testing`); records carry one
/// spelling so a split plan and a manifest can name them.
enum OfficialSplitName {
    /// `train`, `val` or `test` for the usual spellings; any other non-empty name lower-cased.
    static func normalized(_ raw: String) -> String? {
        let name = CSVReader.trimmed(raw).lowercased()
        switch name {
        case "": return nil
        case "train", "training": return "train"
        case "val", "valid", "validation", "dev": return "val"
        case "test", "testing": return "test"
        default: return name
        }
    }

    /// Whether a folder name reads as a split, for `train/`/`test/` levels above class folders.
    static func isSplitFolder(_ name: String) -> Bool {
        ["train", "val", "test"].contains(normalized(name) ?? "")
    }

    /// train, val, test first, then the others alphabetically: the order reports and manifests list splits in.
    static func precedes(_ a: String, _ b: String) -> Bool {
        let order = ["train", "val", "test"]
        switch (order.firstIndex(of: a), order.firstIndex(of: b)) {
        case let (x?, y?): return x < y
        case (.some, nil): return true
        case (nil, .some): return false
        case (nil, nil): return a < b
        }
    }
}
