import Dermoscopy
import Foundation
import Synchronization

/// Measures the input pipeline as inference and training run it: decode with DCT scaling
/// towards the input size, shorter side to `size` and centre crop, torchvision normalization
/// into a float buffer. Each thread takes every `threads`-th file, so threads share nothing.
struct DecodeBenchmark {
    let files: [URL]
    let size: Int
    let passes: Int

    /// A file the benchmark could not decode, in the decoder's words (which name the file).
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    struct Run: Codable {
        var threads: Int
        var images_per_s: Double
        var ms_per_image_per_thread: Double
    }

    /// Every `.jpg`/`.jpeg` under `directory`, sorted so runs visit files in the same order.
    static func jpegFiles(under directory: URL) -> [URL] {
        let walker = FileManager.default.enumerator(at: directory, includingPropertiesForKeys: nil)
        let urls = (walker?.allObjects as? [URL]) ?? []
        return urls.filter { ["jpg", "jpeg"].contains($0.pathExtension.lowercased()) }
            .sorted { $0.path < $1.path }
    }

    /// One untimed pass (file cache, page faults, and a check that every file decodes), then
    /// the median of `passes` timed passes.
    func run(threads: Int) throws -> Run {
        try pass(threads: threads)
        var seconds: [Double] = []
        for _ in 0..<passes { seconds.append(try pass(threads: threads)) }
        let median = seconds.sorted()[seconds.count / 2]
        return Run(threads: threads, images_per_s: Double(files.count) / median,
                   ms_per_image_per_thread: median * 1000 * Double(threads) / Double(files.count))
    }

    /// Wall time of one pass over all files.
    @discardableResult
    private func pass(threads: Int) throws -> Double {
        let failure = Mutex<String?>(nil)
        let start = DispatchTime.now().uptimeNanoseconds
        DispatchQueue.concurrentPerform(iterations: threads) { thread in
            let tensor = UnsafeMutablePointer<Float>.allocate(capacity: 3 * size * size)
            defer { tensor.deallocate() }
            for index in stride(from: thread, to: files.count, by: threads) {
                do {
                    let image = try ImageDecoder.decode(contentsOf: files[index], minimumSize: (size, size))
                    Normalization.torchvision.write(Resize.shorterSideThenCenterCrop(image, size: size), to: tensor)
                } catch {
                    failure.withLock { $0 = $0 ?? "\(error)" }  // the first error; later ones tend to repeat it
                    return
                }
            }
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        if let message = failure.withLock({ $0 }) { throw Failure(description: message) }
        return seconds
    }
}
