/// The API's contract, OpenAPI 3.1 (its schemas are JSON Schema 2020-12), served at
/// `/openapi.json`. `ServingTests` validates every real response the tests receive against
/// it, so the document cannot drift from the code.
enum OpenAPIDocument {
    static let json = #"""
    {
      "openapi": "3.1.0",
      "info": {
        "title": "SkinLesion API",
        "version": "1.0.0",
        "description": "Classifies dermatoscopic images of skin lesions. Research tool, not a diagnostic device: do not use it to diagnose, treat or triage patients."
      },
      "paths": {
        "/v1/predict": {
          "post": {
            "summary": "Classify one image",
            "description": "The image is the raw body (image/jpeg, image/png, application/octet-stream) or a multipart/form-data file part named 'image'. The format is sniffed from the content. Images are never stored or logged; the audit log keeps their SHA-256. With an ensemble, probabilities are the members' combination and members lists each member's; a rank ensemble ranks the images of one request, so it answers 400 here (use /v1/predict/batch).",
            "parameters": [
              {"$ref": "#/components/parameters/tta"},
              {"name": "cam", "in": "query", "required": false, "description": "Also return a Grad-CAM overlay of the top class as a PNG data URL.", "schema": {"type": "boolean", "default": false}}
            ],
            "requestBody": {"$ref": "#/components/requestBodies/images"},
            "responses": {
              "200": {"description": "The prediction", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/PredictResponse"}}}},
              "400": {"$ref": "#/components/responses/Error"},
              "413": {"$ref": "#/components/responses/Error"},
              "415": {"$ref": "#/components/responses/Error"},
              "422": {"$ref": "#/components/responses/Error"},
              "500": {"$ref": "#/components/responses/Error"},
              "429": {"$ref": "#/components/responses/Busy"},
              "503": {"$ref": "#/components/responses/Busy"}
            }
          }
        },
        "/v1/predict/batch": {
          "post": {
            "summary": "Classify several images in one request",
            "description": "multipart/form-data with one file part per image. Each image gets a prediction or its own error; the request succeeds as a whole.",
            "parameters": [{"$ref": "#/components/parameters/tta"}],
            "requestBody": {"$ref": "#/components/requestBodies/images"},
            "responses": {
              "200": {"description": "One entry per image, in order", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/BatchResponse"}}}},
              "400": {"$ref": "#/components/responses/Error"},
              "413": {"$ref": "#/components/responses/Error"},
              "415": {"$ref": "#/components/responses/Error"},
              "429": {"$ref": "#/components/responses/Busy"},
              "503": {"$ref": "#/components/responses/Busy"}
            }
          }
        },
        "/v1/model": {
          "get": {
            "summary": "The model's metadata and card",
            "responses": {"200": {"description": "Model metadata", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ModelResponse"}}}}}
          }
        },
        "/v1/model/card": {
          "get": {
            "summary": "The model card as Markdown",
            "responses": {"200": {"description": "MODEL_CARD.md", "content": {"text/markdown": {"schema": {"type": "string"}}}}}
          }
        },
        "/healthz": {
          "get": {
            "summary": "Liveness",
            "responses": {"200": {"description": "The process is up", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Health"}}}}}
          }
        },
        "/readyz": {
          "get": {
            "summary": "Readiness: the model has run its first forward pass",
            "responses": {
              "200": {"description": "Ready", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Health"}}}},
              "503": {"description": "Still starting", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Health"}}}}
            }
          }
        },
        "/metrics": {
          "get": {
            "summary": "Prometheus metrics (text exposition format 0.0.4)",
            "responses": {"200": {"description": "Metrics", "content": {"text/plain": {"schema": {"type": "string"}}}}}
          }
        }
      },
      "components": {
        "parameters": {
          "tta": {"name": "tta", "in": "query", "required": false, "description": "Test-time augmentation: 1, or 8 to average the 8 dihedral views (an ensemble member whose manifest asks for 8 always uses 8).", "schema": {"type": "integer", "enum": [1, 8], "default": 1}}
        },
        "requestBodies": {
          "images": {
            "required": true,
            "content": {
              "image/jpeg": {"schema": {"type": "string", "contentMediaType": "image/jpeg"}},
              "image/png": {"schema": {"type": "string", "contentMediaType": "image/png"}},
              "application/octet-stream": {"schema": {"type": "string"}},
              "multipart/form-data": {"schema": {"type": "object", "properties": {"image": {"type": "string", "contentMediaType": "application/octet-stream"}}}}
            }
          }
        },
        "responses": {
          "Error": {"description": "The request cannot be served; the message says why and what is expected", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
          "Busy": {
            "description": "The queue is full (429) or the request waited too long or the server is stopping (503)",
            "headers": {"Retry-After": {"description": "Seconds to wait before retrying", "schema": {"type": "integer"}}},
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
          }
        },
        "schemas": {
          "ErrorDetail": {
            "type": "object", "additionalProperties": false, "required": ["status", "message"],
            "properties": {"status": {"type": "integer"}, "message": {"type": "string"}}
          },
          "Error": {
            "type": "object", "additionalProperties": false, "required": ["error"],
            "properties": {"error": {"$ref": "#/components/schemas/ErrorDetail"}}
          },
          "ModelIdentity": {
            "type": "object", "additionalProperties": false, "required": ["id", "version", "architecture"],
            "properties": {
              "id": {"type": "string", "pattern": "^[0-9a-f]{16}$", "description": "First 16 hex digits of the model file's SHA-256 (an ensemble's: of its members' ids, weights, TTA and combination)"},
              "version": {"type": "string"},
              "architecture": {"type": "string"}
            }
          },
          "Timing": {
            "type": "object", "additionalProperties": false, "required": ["decode_ms", "queue_and_inference_ms", "total_ms"],
            "properties": {"decode_ms": {"type": "number"}, "queue_and_inference_ms": {"type": "number"}, "total_ms": {"type": "number"}}
          },
          "Prediction": {
            "type": "object", "additionalProperties": false,
            "required": ["classes", "probabilities", "top", "confidence", "calibrated", "low_confidence", "tta"],
            "properties": {
              "name": {"type": "string", "description": "The uploaded file's name, when the client sent one"},
              "classes": {"type": "array", "items": {"type": "string"}},
              "probabilities": {"type": "array", "items": {"type": "number", "minimum": 0, "maximum": 1}},
              "top": {"type": "string"},
              "confidence": {"type": "number", "minimum": 0, "maximum": 1, "description": "Probability of the top class, temperature-calibrated when the model is"},
              "calibrated": {"type": "boolean"},
              "low_confidence": {"type": "boolean", "description": "Confidence below the server's threshold: refer to a dermatologist"},
              "tta": {"type": "integer", "enum": [1, 8]},
              "cam": {"type": "string", "pattern": "^data:image/png;base64,", "description": "Grad-CAM overlay, when cam=true"},
              "unknown_metadata": {"type": "array", "items": {"type": "string"}, "description": "Metadata values (field=value) outside the model's categories, encoded in the unknown slot"},
              "members": {"type": "array", "minItems": 2, "description": "An ensemble's members' own probabilities (absent for one model); probabilities above are their combination",
                "items": {"type": "object", "additionalProperties": false, "required": ["model", "tta", "probabilities"],
                  "properties": {"model": {"type": "string"}, "tta": {"type": "integer", "enum": [1, 8]},
                                 "probabilities": {"type": "array", "items": {"type": "number", "minimum": 0, "maximum": 1}}}}}
            }
          },
          "PredictResponse": {
            "type": "object", "additionalProperties": false, "required": ["prediction", "model", "timing", "intended_use"],
            "properties": {
              "prediction": {"$ref": "#/components/schemas/Prediction"},
              "model": {"$ref": "#/components/schemas/ModelIdentity"},
              "timing": {"$ref": "#/components/schemas/Timing"},
              "intended_use": {"type": "string"}
            }
          },
          "BatchEntry": {
            "type": "object", "additionalProperties": false,
            "oneOf": [{"required": ["prediction"]}, {"required": ["error"]}],
            "properties": {"prediction": {"$ref": "#/components/schemas/Prediction"}, "error": {"$ref": "#/components/schemas/ErrorDetail"}}
          },
          "BatchResponse": {
            "type": "object", "additionalProperties": false, "required": ["results", "model", "timing", "intended_use"],
            "properties": {
              "results": {"type": "array", "items": {"$ref": "#/components/schemas/BatchEntry"}},
              "model": {"$ref": "#/components/schemas/ModelIdentity"},
              "timing": {"$ref": "#/components/schemas/Timing"},
              "intended_use": {"type": "string"}
            }
          },
          "ModelResponse": {
            "type": "object", "additionalProperties": false,
            "required": ["model", "classes", "input_size", "preprocessing", "low_confidence_threshold", "intended_use", "data_licenses", "card"],
            "properties": {
              "model": {"$ref": "#/components/schemas/ModelIdentity"},
              "classes": {"type": "array", "items": {"type": "string"}, "minItems": 2},
              "input_size": {"type": "integer"},
              "preprocessing": {"type": "string"},
              "temperature": {"type": "number", "description": "Calibration temperature, when the model was calibrated"},
              "low_confidence_threshold": {"type": "number"},
              "intended_use": {"type": "string"},
              "data_licenses": {"type": "array", "description": "The training data's licences, which the model inherits; empty when not recorded", "items": {"$ref": "#/components/schemas/DataLicense"}},
              "card": {"type": "string", "description": "MODEL_CARD.md"},
              "metadata_fields": {"type": "array", "description": "Patient metadata a fusion model takes (an ensemble: any member), as multipart form fields or query parameters of these names; any may be left out (missing)",
                "items": {"$ref": "#/components/schemas/MetadataField"}},
              "ensemble": {"$ref": "#/components/schemas/Ensemble"}
            }
          },
          "Ensemble": {
            "type": "object", "additionalProperties": false, "required": ["combination", "members"],
            "description": "Present when the server runs an ensemble; the top-level input_size and preprocessing are then the first member's, and metadata_fields every member's",
            "properties": {
              "combination": {"type": "string", "enum": ["mean", "geometric", "rank"]},
              "members": {"type": "array", "minItems": 2, "items": {"type": "object", "additionalProperties": false,
                "required": ["model", "file", "weight", "tta", "input_size", "preprocessing"],
                "properties": {"model": {"$ref": "#/components/schemas/ModelIdentity"}, "file": {"type": "string"},
                               "weight": {"type": "number", "exclusiveMinimum": 0}, "tta": {"type": "integer", "enum": [1, 8]},
                               "input_size": {"type": "integer"}, "preprocessing": {"type": "string"}, "temperature": {"type": "number"},
                               "metadata_fields": {"type": "array", "items": {"$ref": "#/components/schemas/MetadataField"}}}}}
            }
          },
          "MetadataField": {
            "type": "object", "additionalProperties": false, "required": ["name", "column", "kind"],
            "properties": {"name": {"type": "string"}, "column": {"type": "string"}, "kind": {"type": "string", "enum": ["number", "category"]},
                           "categories": {"type": "array", "items": {"type": "string"}}}
          },
          "DataLicense": {
            "type": "object", "additionalProperties": false, "required": ["dataset", "license", "basis"],
            "properties": {
              "dataset": {"type": "string"},
              "license": {"type": "string", "description": "e.g. CC BY-NC 4.0, or 'unknown: state it yourself'"},
              "basis": {"type": "string", "description": "The detected dataset format, or that the user stated it"}
            }
          },
          "Health": {
            "type": "object", "additionalProperties": false, "required": ["status"],
            "properties": {"status": {"type": "string", "enum": ["ok", "ready", "starting"]}}
          }
        }
      }
    }
    """#
}
