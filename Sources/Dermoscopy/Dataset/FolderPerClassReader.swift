import Foundation

/// A directory of class folders (`acne/`, `eczema/`, ...; label = folder name), optionally one level down
/// under split folders (`train/acne/`, `test/acne/` → official split), as many Kaggle skin-disease sets ship.
enum FolderPerClassReader {
    static func hasClassFolders(_ root: URL) -> Bool {
        !records(in: root).isEmpty
    }

    static func read(_ source: DatasetSource) -> LoadedRows {
        var loaded = LoadedRows(file: source.root.path)
        for record in records(in: source.root) { loaded.add(record, line: nil) }
        return loaded
    }

    /// Images at the wrong depth (loose in the root or in a split folder) have no class and are skipped.
    /// The id is `class/file-stem`: numbered names such as `1.jpg` recur in every class, while the same file
    /// in `train/` and `test/` is one image and must be caught as a duplicate. Records come train, val, test,
    /// then other splits, so such a duplicate keeps its training copy.
    private static func records(in root: URL) -> [DatasetRecord] {
        let splitLevel = hasSplitLevel(root)
        let depth = splitLevel ? 3 : 2
        var records: [DatasetRecord] = []
        for path in ImageIndex.imagePaths(under: root) {
            let components = path.split(separator: "/").map(String.init)
            guard components.count >= depth else { continue }
            let label = components[depth - 2]
            let stem = (components.last! as NSString).deletingPathExtension
            records.append(DatasetRecord(imageID: "\(label)/\(stem)", path: path, label: label,
                                         split: splitLevel ? OfficialSplitName.normalized(components[0]) : nil))
        }
        return records.sorted {
            $0.split == $1.split ? $0.path < $1.path : OfficialSplitName.precedes($0.split ?? "", $1.split ?? "")
        }
    }

    /// Split folders are recognised only when every top-level folder is named like one, so a class that
    /// happens to be called `test` does not turn the layout around.
    private static func hasSplitLevel(_ root: URL) -> Bool {
        let folders = ((try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? []).filter { name in
            var isDirectory: ObjCBool = false
            return !name.hasPrefix(".")
                && FileManager.default.fileExists(atPath: root.appendingPathComponent(name).path, isDirectory: &isDirectory)
                && isDirectory.boolValue
        }
        return !folders.isEmpty && folders.allSatisfy(OfficialSplitName.isSplitFolder)
    }
}
