import Foundation

/// Image files below a directory, by file name without extension, found with one directory walk: formats
/// that name images only by id (HAM10000, ISIC) must not stat a handful of guessed paths per row.
struct ImageIndex {
    static let extensions: Set<String> = ["jpg", "jpeg", "png"]

    private var best: [String: (rank: Int, path: String)] = [:]

    /// When an id occurs more than once the nearest copy wins: next to the root, then in `images/`, then the
    /// lexicographically first path, so the choice never depends on directory listing order.
    init(walking root: URL) {
        for path in Self.imagePaths(under: root) {
            let components = path.split(separator: "/")
            let stem = (String(components.last!) as NSString).deletingPathExtension
            let rank = components.count == 1 ? 0 : (components.count == 2 && components[0] == "images" ? 1 : 2)
            if let current = best[stem], (current.rank, current.path) <= (rank, path) { continue }
            best[stem] = (rank, path)
        }
    }

    /// Path relative to the walked root.
    func path(for id: String) -> String? { best[id]?.path }

    /// Relative paths of the image files below `root`, skipping hidden files and folders. Links to folders
    /// are not followed (FileManager's walk does not), so a link loop cannot make the walk endless.
    static func imagePaths(under root: URL) -> [String] {
        guard let walker = FileManager.default.enumerator(atPath: root.path) else { return [] }
        var paths: [String] = []
        while let path = walker.nextObject() as? String {
            let name = (path as NSString).lastPathComponent
            if name.hasPrefix(".") {
                walker.skipDescendants()
                continue
            }
            if extensions.contains((name as NSString).pathExtension.lowercased()) { paths.append(path) }
        }
        return paths
    }
}
