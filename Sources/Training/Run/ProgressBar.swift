import Foundation

/// A one-line progress bar on stderr with rate and ETA. On a terminal it redraws in place;
/// in a log file (CI) it prints a line at most every few seconds, so logs stay readable.
struct ProgressBar {
    let title: String
    let total: Int
    private let start = DispatchTime.now().uptimeNanoseconds
    private var lastDraw: UInt64 = 0
    private let interactive = isatty(2) != 0
    /// False on the ranks other than 0 of a data-parallel job: one bar per job.
    private let shown: Bool

    init(title: String, total: Int, shown: Bool = true) {
        self.title = title
        self.total = max(total, 1)
        self.shown = shown
    }

    mutating func update(done: Int, images: Int, status: String) {
        guard shown else { return }
        let now = DispatchTime.now().uptimeNanoseconds
        let finished = done >= total
        guard finished || now - lastDraw > (interactive ? 200_000_000 : 5_000_000_000) else { return }
        lastDraw = now
        let seconds = Double(now - start) / 1e9
        let rate = seconds > 0 ? Double(images) / seconds : 0
        let eta = done > 0 ? seconds / Double(done) * Double(total - done) : 0
        let width = 24
        let filled = width * min(done, total) / total
        let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
        let line = String(format: "%@ %@ %d/%d %@ %.1f img/s ETA %d:%02d", title, bar, done, total, status, rate,
                          Int(eta) / 60, Int(eta) % 60)
        FileHandle.standardError.write(Data(((interactive ? "\r\u{1B}[K" : "") + line + (interactive && !finished ? "" : "\n")).utf8))
    }
}
