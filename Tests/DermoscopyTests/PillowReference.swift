import Dermoscopy
import Foundation
import XCTest

/// Pillow decoding the same real files, run at test time in the repository's venv
/// (`.build/venv`, with `pillow` from tools/requirements.txt), so the decoder and resize are
/// checked against the library the Python training pipelines use, not against themselves.
enum PillowReference {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let python = root.appendingPathComponent(".build/venv/bin/python")
    static let hamSample = root.appendingPathComponent("../shared/data/ham10000-sample").standardizedFileURL

    /// What Pillow does to each file before handing back its pixels.
    enum Mode: String {
        /// Full-size decode.
        case full
        /// `draft("RGB", (size, size))`: libjpeg's DCT scaling by 1/2, 1/4 or 1/8.
        case draft
        /// Full-size decode, then torchvision's `Resize(size)` (BILINEAR, reducing_gap=None)
        /// and `CenterCrop(size)`, written out so the geometry comes from Python, not from us.
        case crop
        /// `draft`, then the same resize and crop.
        case draftCrop = "draft-crop"
    }

    private static let script = """
        import struct, sys
        from PIL import Image
        mode, size, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
        for i, path in enumerate(sys.argv[4:]):
            with Image.open(path) as image:
                if mode.startswith("draft"):
                    image.draft("RGB", (size, size))
                image = image.convert("RGB")
            if mode.endswith("crop"):
                w, h = image.size
                nw, nh = (size, int(size * h / w)) if w <= h else (int(size * w / h), size)
                image = image.resize((nw, nh), Image.Resampling.BILINEAR, reducing_gap=None)
                left, top = int(round((nw - size) / 2.0)), int(round((nh - size) / 2.0))
                image = image.crop((left, top, left + size, top + size))
            with open(f"{out}/{i}.rgb", "wb") as f:
                f.write(struct.pack("<II", *image.size) + image.tobytes())
        """

    /// HAM10000 sample files by path relative to the sample folder; skips when it is absent.
    static func hamFiles(_ names: [String]) throws -> [URL] {
        let urls = names.map { hamSample.appendingPathComponent($0) }
        guard urls.allSatisfy({ FileManager.default.fileExists(atPath: $0.path) }) else {
            throw XCTSkip("real HAM10000 sample not found at \(hamSample.path) (../shared/data next to the repository)")
        }
        return urls
    }

    static func decode(_ files: [URL], mode: Mode, size: Int = 224) throws -> [RGBImage] {
        guard FileManager.default.isExecutableFile(atPath: python.path) else {
            throw XCTSkip("no Python venv at \(python.path): run scripts/setup")
        }
        let output = try ImageFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: output) }
        let process = Process()
        process.executableURL = python
        process.arguments = ["-c", script, mode.rawValue, String(size), output.path] + files.map(\.path)
        let errors = Pipe()
        process.standardError = errors
        try process.run()
        let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        if message.contains("No module named 'PIL'") {
            throw XCTSkip("Pillow is not installed in \(python.path): pip install -r tools/requirements.txt")
        }
        guard process.terminationStatus == 0 else { throw ImageFixtures.FixtureError(description: "Pillow failed: \(message)") }
        return try files.indices.map { i in
            let data = try Data(contentsOf: output.appendingPathComponent("\(i).rgb"))
            let width = Int(data[0]) | Int(data[1]) << 8 | Int(data[2]) << 16 | Int(data[3]) << 24
            let height = Int(data[4]) | Int(data[5]) << 8 | Int(data[6]) << 16 | Int(data[7]) << 24
            return RGBImage(width: width, height: height, pixels: Array(data[8...]))
        }
    }

    /// The largest per-channel difference between two images of the same size.
    static func maxDifference(_ a: RGBImage, _ b: RGBImage) -> Int {
        zip(a.pixels, b.pixels).reduce(0) { max($0, abs(Int($1.0) - Int($1.1))) }
    }
}
