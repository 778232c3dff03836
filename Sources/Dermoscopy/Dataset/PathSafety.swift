import Foundation

/// Paths and ids read from a CSV decide which files get opened, so they are checked before use: nothing a
/// label file says may reach outside the dataset root.
enum PathSafety {
    /// `raw` as a path relative to `root`, or nil when it escapes: any `..` component, an absolute path
    /// outside the root, an empty path or a NUL byte. Backslashes count as separators, so a Windows-style
    /// `..\..\x` is caught too. An absolute path inside the root comes back relative to it.
    ///
    /// The path comes back in one spelling, without empty or `.` components: `a//b/`, `./a/b` and
    /// `root//a/b` all name `a/b` to the file system. Cut after the root, `root//etc/passwd` was the
    /// absolute `/etc/passwd` (found by review), and Foundation's NSString path functions trap on some
    /// runs of slashes (`x///a//`, found by fuzzing the CSV manifest reader).
    static func containedPath(_ raw: String, in root: URL) -> String? {
        guard !raw.isEmpty, !raw.utf8.contains(0) else { return nil }
        let components = raw.split(whereSeparator: { $0 == "/" || $0 == "\\" })
        guard !components.contains("..") else { return nil }
        var relative = Substring(raw)
        if raw.hasPrefix("/") {
            let base = root.standardizedFileURL.path
            let prefix = base.hasSuffix("/") ? base : base + "/"
            guard raw.hasPrefix(prefix) else { return nil }
            relative = raw.dropFirst(prefix.count)
        }
        let parts = relative.split(separator: "/").filter { $0 != "." }
        return parts.isEmpty ? nil : parts.joined(separator: "/")
    }

    /// Whether an image id can be used as a file name: formats that build `<id>.jpg` must not be steered
    /// into another directory by an id such as `../../etc/passwd`.
    static func isPlainName(_ id: String) -> Bool {
        !id.isEmpty && id != "." && id != ".." && !id.utf8.contains { $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "\\") || $0 == 0 }
    }
}
