import Foundation

/// The ONNX messages an exported model is made of, with the field numbers of `onnx.proto`
/// (the ONNX IR specification, proto2). Only the fields SkinLesion writes are here.
enum ONNXProto {
    /// `TensorProto.DataType`.
    enum DataType: UInt64 {
        case float = 1
        case int64 = 7
    }

    /// One dimension of a `TensorShapeProto`: a number, or a name that stands for any size
    /// (the batch).
    enum Dimension: Equatable {
        case value(Int)
        case symbol(String)
    }

    /// An `AttributeProto` value, with its `AttributeType` discriminator.
    enum AttributeValue {
        case float(Float)
        case int(Int)
        case string(String)
        case floats([Float])
        case ints([Int])

        var type: UInt64 {
            switch self {
            case .float: 1
            case .int: 2
            case .string: 3
            case .floats: 6
            case .ints: 7
            }
        }
    }

    /// `ModelProto`: ir_version 1, producer_name 2, producer_version 3, doc_string 6,
    /// graph 7, opset_import 8, metadata_props 14.
    static func model(irVersion: Int, opset: Int, producer: (name: String, version: String), doc: String,
                      graph: ProtobufMessage, properties: [(key: String, value: String)]) -> ProtobufMessage {
        var model = ProtobufMessage()
        model.int64(1, Int64(irVersion))
        model.string(2, producer.name)
        model.string(3, producer.version)
        model.string(6, doc)
        model.message(7, graph)
        model.message(8, operatorSet(opset))
        model.messages(14, properties.map(stringEntry))
        return model
    }

    /// `OperatorSetIdProto`: domain 1 (empty: the default ONNX operator set), version 2.
    static func operatorSet(_ version: Int) -> ProtobufMessage {
        var set = ProtobufMessage()
        set.int64(2, Int64(version))
        return set
    }

    /// `StringStringEntryProto`: key 1, value 2.
    static func stringEntry(_ entry: (key: String, value: String)) -> ProtobufMessage {
        var message = ProtobufMessage()
        message.string(1, entry.key)
        message.string(2, entry.value)
        return message
    }

    /// `GraphProto`: node 1, name 2, initializer 5, doc_string 10, input 11, output 12.
    static func graph(name: String, nodes: [ProtobufMessage], initializers: [ProtobufMessage],
                      inputs: [ProtobufMessage], outputs: [ProtobufMessage]) -> ProtobufMessage {
        var graph = ProtobufMessage()
        graph.messages(1, nodes)
        graph.string(2, name)
        graph.messages(5, initializers)
        graph.messages(11, inputs)
        graph.messages(12, outputs)
        return graph
    }

    /// `NodeProto`: input 1, output 2, name 3, op_type 4, attribute 5.
    static func node(_ op: String, inputs: [String], outputs: [String], name: String,
                     attributes: [(name: String, value: AttributeValue)]) -> ProtobufMessage {
        var node = ProtobufMessage()
        node.strings(1, inputs)
        node.strings(2, outputs)
        node.string(3, name)
        node.string(4, op)
        node.messages(5, attributes.map(attribute))
        return node
    }

    /// `AttributeProto`: name 1, f 2, i 3, s 4, floats 7, ints 8, type 20.
    static func attribute(_ attribute: (name: String, value: AttributeValue)) -> ProtobufMessage {
        var message = ProtobufMessage()
        message.string(1, attribute.name)
        switch attribute.value {
        case .float(let value): message.float(2, value)
        case .int(let value): message.int64(3, Int64(value))
        case .string(let value): message.string(4, value)
        case .floats(let values): message.floats(7, values)
        case .ints(let values): message.int64s(8, values.map(Int64.init))
        }
        message.varint(20, attribute.value.type)
        return message
    }

    /// `TensorProto` of floats: dims 1, data_type 2, name 8, raw_data 9 (little-endian IEEE 754).
    static func tensor(_ name: String, shape: [Int], floats: [Float]) -> ProtobufMessage {
        tensor(name, shape: shape, type: .float, raw: floats.withUnsafeBytes { Data($0) })
    }

    /// `TensorProto` of int64s (shapes, pads, indices), raw little-endian.
    static func tensor(_ name: String, shape: [Int], int64s: [Int64]) -> ProtobufMessage {
        tensor(name, shape: shape, type: .int64, raw: int64s.withUnsafeBytes { Data($0) })
    }

    private static func tensor(_ name: String, shape: [Int], type: DataType, raw: Data) -> ProtobufMessage {
        var tensor = ProtobufMessage()
        tensor.int64s(1, shape.map(Int64.init))
        tensor.varint(2, type.rawValue)
        tensor.string(8, name)
        tensor.bytes(9, raw)
        return tensor
    }

    /// `ValueInfoProto` (name 1, type 2, doc_string 3) of a tensor: `TypeProto.tensor_type` 1 →
    /// `TypeProto.Tensor` (elem_type 1, shape 2) → `TensorShapeProto.dim` 1 →
    /// `Dimension` (dim_value 1 or dim_param 2).
    static func valueInfo(_ name: String, type: DataType, shape: [Dimension], doc: String) -> ProtobufMessage {
        var tensorShape = ProtobufMessage()
        for dimension in shape {
            var message = ProtobufMessage()
            switch dimension {
            case .value(let value): message.int64(1, Int64(value))
            case .symbol(let symbol): message.string(2, symbol)
            }
            tensorShape.message(1, message)
        }
        var tensorType = ProtobufMessage()
        tensorType.varint(1, type.rawValue)
        tensorType.message(2, tensorShape)
        var typeProto = ProtobufMessage()
        typeProto.message(1, tensorType)
        var info = ProtobufMessage()
        info.string(1, name)
        info.message(2, typeProto)
        info.string(3, doc)
        return info
    }
}

#if _endian(big)
#error("ONNX raw_data is little-endian; ONNXProto writes the host's floats as they are")
#endif
