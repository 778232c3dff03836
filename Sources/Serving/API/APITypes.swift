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

    enum CodingKeys: String, CodingKey {
        case name, classes, probabilities, top, confidence, calibrated, tta, cam
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
    let card: String
    let metadataFields: [MetadataField]?

    /// One metadata input of a fusion model, for clients and the web page's form.
    struct MetadataField: Codable {
        let name: String
        let column: String
        let kind: String
        let categories: [String]?
    }

    enum CodingKeys: String, CodingKey {
        case model, classes, preprocessing, temperature, card
        case metadataFields = "metadata_fields"
        case inputSize = "input_size"
        case lowConfidenceThreshold = "low_confidence_threshold"
        case intendedUse = "intended_use"
    }
}

struct HealthResponse: Codable {
    let status: String
}
