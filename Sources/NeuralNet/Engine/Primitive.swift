import CDNNL

/// A oneDNN primitive together with its primitive descriptor, which is what we query for
/// the layouts it chose. Built once per operation and shape, then cached by `Engine`.
final class Primitive {
    let descriptor: dnnl_primitive_desc_t
    let handle: dnnl_primitive_t
    let name: String

    /// Builds from an operation descriptor (`dnnl_convolution_desc_t` and friends).
    /// `hint` is the forward primitive when this one is a backward pass.
    convenience init<Op>(_ name: String, op: inout Op, attr: dnnl_primitive_attr_t? = nil,
                         hint: Primitive? = nil) throws {
        var pd: dnnl_primitive_desc_t?
        let engine = Engine.shared.engine
        try withUnsafePointer(to: &op) { opPointer in
            try check(dnnl_primitive_desc_create(&pd, UnsafeRawPointer(opPointer), attr, engine,
                                                 hint?.descriptor),
                      "primitive_desc_create(\(name))")
        }
        try self.init(name, descriptor: pd!)
    }

    /// Takes ownership of an already created primitive descriptor (reorder, sum, concat).
    init(_ name: String, descriptor: dnnl_primitive_desc_t) throws {
        var primitive: dnnl_primitive_t?
        let status = dnnl_primitive_create(&primitive, descriptor)
        if status != dnnl_success {
            dnnl_primitive_desc_destroy(descriptor)
            throw DNNLError(status: status, call: "primitive_create(\(name))")
        }
        self.descriptor = descriptor
        self.handle = primitive!
        self.name = name
    }

    deinit {
        dnnl_primitive_destroy(handle)
        dnnl_primitive_desc_destroy(descriptor)
    }

    /// The layout the primitive expects or produces for one argument.
    func md(_ what: dnnl_query_t, _ index: Int32 = 0) -> MemoryDesc {
        guard let p = dnnl_primitive_desc_query_md(descriptor, what, index) else { return MemoryDesc() }
        return p.pointee
    }

    var implementation: String {
        var info: UnsafePointer<CChar>?
        withUnsafeMutablePointer(to: &info) { p in
            _ = dnnl_primitive_desc_query(descriptor, dnnl_query_impl_info_str, 0, UnsafeMutableRawPointer(p))
        }
        return info.map { String(cString: $0) } ?? "unknown"
    }

    /// Runs the primitive on the shared stream and waits for it. The tensors are kept alive
    /// for the duration of the call.
    func execute(_ arguments: [(Int32, Tensor)]) throws {
        var args = arguments.map { dnnl_exec_arg_t(arg: $0.0, memory: $0.1.memory) }
        let stream = Engine.shared.stream
        try withExtendedLifetime(arguments) {
            try check(dnnl_primitive_execute(handle, stream, Int32(args.count), &args), "execute(\(name))")
            try check(dnnl_stream_wait(stream), "stream_wait(\(name))")
        }
    }
}
