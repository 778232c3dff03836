import Dermoscopy
import Foundation
import Inference

/// Which model answered: `id` is content-addressed (the SHA-256 of the model file, first 16
/// hex digits), so it changes whenever the weights do; `version` is the operator's label.
struct ModelIdentity: Codable, Sendable {
    let id: String
    let version: String
    let architecture: String
}

/// Milliseconds spent per phase of one request.
struct Timing: Codable {
    let decodeMs: Double
    let queueAndInferenceMs: Double
    let totalMs: Double

    enum CodingKeys: String, CodingKey {
        case decodeMs = "decode_ms", queueAndInferenceMs = "queue_and_inference_ms", totalMs = "total_ms"
    }
}

/// One image's answer (`POST /v1/predict`, and each entry of a batch).
struct PredictionBody: Codable {
    let name: String?
    let classes: [String]
    let probabilities: [Double]
    let top: String
    let confidence: Double
    let calibrated: Bool
    let lowConfidence: Bool
    let tta: Int
    /// Grad-CAM of the top class over the network's view, as a PNG data URL, when asked.
    let cam: String?
    let unknownMetadata: [String]?
    /// An ensemble's members' own probabilities (absent for one model).
    let members: [MemberProbabilities]?

    enum CodingKeys: String, CodingKey {
        case name, classes, probabilities, top, confidence, calibrated, tta, cam, members
        case lowConfidence = "low_confidence"
        case unknownMetadata = "unknown_metadata"
    }

    init(name: String?, prediction: Prediction, tta: Int, cam: String?) {
        self.name = name
        classes = prediction.classes
        probabilities = prediction.probabilities
        top = prediction.top
        confidence = prediction.confidence
        calibrated = prediction.calibrated
        lowConfidence = prediction.lowConfidence
        unknownMetadata = prediction.unknownMetadata
        members = prediction.members
        self.tta = tta
        self.cam = cam
    }
}

struct PredictResponse: Codable {
    let prediction: PredictionBody
    let model: ModelIdentity
    let timing: Timing
    let intendedUse: String

    enum CodingKeys: String, CodingKey {
        case prediction, model, timing
        case intendedUse = "intended_use"
    }
}

/// A batch answers every image: a prediction, or an error for that image alone.
struct BatchEntry: Codable {
    let prediction: PredictionBody?
    let error: ErrorBody.Detail?

    init(prediction: PredictionBody) { (self.prediction, self.error) = (prediction, nil) }

    /// One image's failure inside a batch that goes on.
    init(error: APIError) {
        prediction = nil
        self.error = .init(status: Int(error.status.code), message: error.message)
    }
}

struct BatchResponse: Codable {
    let results: [BatchEntry]
    let model: ModelIdentity
    let timing: Timing
    let intendedUse: String

    enum CodingKeys: String, CodingKey {
        case results, model, timing
        case intendedUse = "intended_use"
    }
}

/// `GET /v1/model`: what the model is, what it expects, and its card.
struct ModelResponse: Codable {
    let model: ModelIdentity
    let classes: [String]
    let inputSize: Int
    let preprocessing: String
    let temperature: Float?
    let lowConfidenceThreshold: Double
    let intendedUse: String
    /// The training data's licences, which the model inherits; empty when not recorded.
    let dataLicenses: [DataLicense]
    let card: String
    /// For an ensemble, every member's fields (a member ignores those it does not take).
    let metadataFields: [MetadataField]?
    /// Present for an ensemble: its combination and members.
    let ensemble: EnsembleDescription?

    /// One metadata input of a fusion model, for clients and the web page's form.
    struct MetadataField: Codable {
        let name: String
        let column: String
        let kind: String
        let categories: [String]?
    }

    enum CodingKeys: String, CodingKey {
        case model, classes, preprocessing, temperature, card, ensemble
        case dataLicenses = "data_licenses"
        case metadataFields = "metadata_fields"
        case inputSize = "input_size"
        case lowConfidenceThreshold = "low_confidence_threshold"
        case intendedUse = "intended_use"
    }
}

struct HealthResponse: Codable {
    let status: String
}
