import Dermoscopy
import Foundation
import NeuralNet
@testable import Serving

extension FuzzTarget {
    /// A request for `POST /v1/predict`: the first line of the input is the Content-Type header,
    /// the rest the body, as Hummingbird hands them to the route.
    private static func request(_ bytes: UnsafeRawBufferPointer) -> (contentType: String, body: Data) {
        let newline = bytes.firstIndex(of: UInt8(ascii: "\n")) ?? bytes.count
        return (String(decoding: bytes[..<newline], as: UTF8.self), Data(bytes[min(newline + 1, bytes.count)...]))
    }

    /// The body's uploads: raw bodies by their declared type, `multipart/form-data` through the
    /// multipart parser (boundaries, part headers, Content-Disposition parameters). An upload is
    /// never empty, and a multipart part's bytes are a piece of the body.
    static let multipart = FuzzTarget(name: "multipart", summary: "UploadReader.uploads: Content-Type, multipart/form-data parts") { bytes in
        let (contentType, body) = request(bytes)
        guard let uploads = try? UploadReader.uploads(body: body, contentType: contentType) else { return }
        for upload in uploads {
            invariant(!upload.data.isEmpty && upload.data.count <= body.count && body.range(of: upload.data) != nil,
                      "upload of \(upload.data.count) bytes from a \(body.count)-byte body")
        }
    }

    /// What the server does with a request's images before the network sees them: uploads, the
    /// sniffed format (never the declared type), decoding within the upload limits, and the 224×224
    /// evaluation view (shorter side resized, centre crop).
    static let upload = FuzzTarget(name: "upload", summary: "uploads → ImageFormat.sniff → ImageDecoder within limits → evaluation view") { bytes in
        let (contentType, body) = request(bytes)
        guard let uploads = try? UploadReader.uploads(body: body, contentType: contentType) else { return }
        let pipeline = ImagePipeline(inputSize: 224, normalization: .torchvision)
        for upload in uploads where ImageFormat.sniff(upload.data) != nil {
            guard let decoded = try? ImageDecoder.decode(upload.data, name: upload.name ?? "upload", minimumSize: (224, 224),
                                                         limits: fuzzLimits) else { continue }
            var unused = SeededGenerator(seed: 0)
            let view = pipeline.view(of: decoded, training: false, rng: &unused)
            invariant(view.width == 224 && view.height == 224, "view \(view.width)×\(view.height)")
        }
    }
}
