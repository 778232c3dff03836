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

    /// The body's images and form fields: raw bodies by their declared type, `multipart/form-data`
    /// through the multipart parser (boundaries, part headers, Content-Disposition parameters). An
    /// upload is never empty, and its bytes are a piece of the body.
    static let multipart = FuzzTarget(name: "multipart", summary: "UploadReader.read: Content-Type, multipart/form-data parts and fields") { bytes in
        let (contentType, body) = request(bytes)
        guard let form = try? UploadReader.read(body: body, contentType: contentType) else { return }
        invariant(!form.uploads.isEmpty, "a form without images")
        for upload in form.uploads {
            invariant(!upload.data.isEmpty && upload.data.count <= body.count && body.range(of: upload.data) != nil,
                      "upload of \(upload.data.count) bytes from a \(body.count)-byte body")
        }
    }

    /// The spec a fusion model trained on the HAM10000 sample carries (age, sex, site), for the
    /// form fields of fuzzed requests.
    private static let fusionSpec = try! MetadataSpec(features: [
        MetadataFeature(name: "age", column: "age", numeric: NumericEncoding(scale: 0.055, shift: -2.98)),
        MetadataFeature(name: "sex", column: "sex", categorical: CategoricalEncoding(categories: ["female", "male"], aliases: ["m": "male"])),
        MetadataFeature(name: "site", column: "localization",
                        categorical: CategoricalEncoding(categories: ["back", "face", "trunk", "upper extremity"], aliases: ["arm": "upper extremity"])),
    ])

    /// What the server does with a request before the network sees it: images and fields, each
    /// image's format sniffed from its bytes (never the declared type), decoded within the upload
    /// limits and cut to the 224×224 evaluation view; the form fields encoded for a fusion model,
    /// one finite vector per image.
    static let upload = FuzzTarget(name: "upload", summary: "UploadReader → sniff → decode within limits → view; fields → RequestMetadata") { bytes in
        let (contentType, body) = request(bytes)
        guard let form = try? UploadReader.read(body: body, contentType: contentType) else { return }
        if let encoded = try? RequestMetadata.vectors(fields: form.fields, query: [], images: form.uploads.count, union: fusionSpec, specs: [fusionSpec]) {
            invariant(encoded.vectors.count == 1 && encoded.vectors[0]?.count == form.uploads.count
                      && encoded.vectors[0]!.allSatisfy { $0.count == fusionSpec.width && $0.allSatisfy(\.isFinite) },
                      "metadata vectors \(String(describing: encoded.vectors)) for \(form.uploads.count) images")
        }
        let pipeline = ImagePipeline(inputSize: 224, normalization: .torchvision)
        for upload in form.uploads where ImageFormat.sniff(upload.data) != nil {
            guard let decoded = try? ImageDecoder.decode(upload.data, name: upload.name ?? "upload", minimumSize: (224, 224),
                                                         limits: fuzzLimits) else { continue }
            var unused = SeededGenerator(seed: 0)
            let view = pipeline.view(of: decoded, training: false, rng: &unused)
            invariant(view.width == 224 && view.height == 224, "view \(view.width)×\(view.height)")
        }
    }
}
