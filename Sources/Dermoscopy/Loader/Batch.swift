import Foundation
import NeuralNet

/// One sample the loader can read: where the image is and its class index.
public struct LoaderSample: Sendable, Equatable {
    public let url: URL
    public let label: Int

    public init(url: URL, label: Int) {
        self.url = url
        self.label = label
    }
}

/// A batch ready for the engine: images `[n, 3, size, size]` in plain NCHW, their labels,
/// and which samples they are (positions in the loader's sample list).
public struct Batch {
    public let images: Tensor
    public let labels: [Int]
    public let samples: [Int]
}

/// An image that could not be read, reported instead of stopping the run when the user asked
/// for `--skip-bad-images`.
public struct SkippedImage: Sendable, Equatable {
    public let file: String
    public let reason: String

    public init(file: String, reason: String) {
        self.file = file
        self.reason = reason
    }
}
