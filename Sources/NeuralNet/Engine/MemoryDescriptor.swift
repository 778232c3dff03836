import CDNNL
import Foundation

/// Small helpers over `dnnl_memory_desc_t`, the value that says both a tensor's logical
/// dimensions and how its elements are laid out in memory.
typealias MemoryDesc = dnnl_memory_desc_t

/// Packs Swift dimensions into the `const dnnl_dims_t` arrays the C API reads (it takes them
/// as pointers, so an array padded to oneDNN's 12 slots is what it expects).
func dnnlDims(_ values: [Int]) -> [dnnl_dim_t] {
    precondition(values.count <= Int(DNNL_MAX_NDIMS), "at most \(DNNL_MAX_NDIMS) dimensions")
    return values.map { dnnl_dim_t($0) } + [dnnl_dim_t](repeating: 0, count: Int(DNNL_MAX_NDIMS) - values.count)
}

/// The first `count` entries of one of oneDNN's fixed-size C arrays (imported as tuples).
func prefix<Tuple, Element>(_ tuple: Tuple, _ count: Int, as: Element.Type) -> [Element] {
    withUnsafeBytes(of: tuple) { Array($0.bindMemory(to: Element.self).prefix(count)) }
}

extension MemoryDesc {
    /// A descriptor with the given dimensions, layout tag (`dnnl_format_tag_any` lets the
    /// primitive choose) and element type (f32 unless a precision says otherwise).
    static func make(_ dims: [Int], _ tag: dnnl_format_tag_t, _ type: dnnl_data_type_t = dnnl_f32) throws -> MemoryDesc {
        var md = MemoryDesc()
        try check(dnnl_memory_desc_init_by_tag(&md, Int32(dims.count), dnnlDims(dims), type, tag),
                  "memory_desc_init_by_tag(\(dims))")
        return md
    }

    /// Row-major ("plain") layout: NCHW for 4-D, OIHW for weights, GOIHW for grouped weights.
    static func plain(_ dims: [Int], _ type: dnnl_data_type_t = dnnl_f32) throws -> MemoryDesc {
        let tags: [dnnl_format_tag_t] = [dnnl_a, dnnl_ab, dnnl_abc, dnnl_abcd, dnnl_abcde]
        guard (1...tags.count).contains(dims.count) else {
            throw NeuralNetError.invalidShape("plain tensors have 1 to 5 dimensions, got \(dims)")
        }
        return try make(dims, tags[dims.count - 1], type)
    }

    static func any(_ dims: [Int], _ type: dnnl_data_type_t = dnnl_f32) throws -> MemoryDesc {
        try make(dims, dnnl_format_tag_any, type)
    }

    /// The same dimensions and layout with another element type: a u8 destination written
    /// over an s8 residual's bytes, or an f32 copy of a bf16 tensor in its layout (the strides
    /// count elements, so the layout holds for any element size).
    func retyped(_ type: dnnl_data_type_t) -> MemoryDesc {
        var copy = self
        copy.data_type = type
        return copy
    }

    /// A descriptor of other dimensions in this one's layout (NHWC stays NHWC, nChw16c stays
    /// blocked) and element type; plain when this layout is none of the activation layouts
    /// oneDNN picks. ZeroPad2D pads in its input's layout, so the pooling after it needs no
    /// reorder on either side.
    func sameLayout(dims other: [Int]) throws -> MemoryDesc {
        if dimensions.count == 4 {
            for tag in [dnnl_acdb, dnnl_aBcd16b, dnnl_aBcd8b, dnnl_abcd]
            where (try? MemoryDesc.make(dimensions, tag, data_type))?.isEqual(to: self) == true {
                return try .make(other, tag, data_type)
            }
        }
        return try .plain(other, data_type)
    }

    var dimensions: [Int] { prefix(dims, Int(ndims), as: dnnl_dim_t.self).map(Int.init) }

    /// Bytes the layout occupies, including any padding of blocked layouts (C=3 in nChw8c
    /// occupies 8 channels).
    var byteSize: Int {
        var copy = self
        return dnnl_memory_desc_get_size(&copy)
    }

    func isEqual(to other: MemoryDesc) -> Bool {
        var a = self
        var b = other
        return dnnl_memory_desc_equal(&a, &b) != 0
    }

    /// A textual key such as `f32 32x64x56x56 s[200704,1,3584,64] b[1:8] o0`: element type, dimensions, strides
    /// and inner blocks (here nChw8c), exact enough to key the primitive cache and readable
    /// enough for error messages. Spelled out once per descriptor (`DescriptorKeys`): every
    /// layer of every forward pass asks for its input's.
    var key: String { DescriptorKeys.shared.key(for: self) }

    fileprivate var spelledOut: String {
        let n = Int(ndims)
        let shape = String(cString: dnnl_dt2str(data_type)) + " " + dimensions.map(String.init).joined(separator: "x")
        guard format_kind == dnnl_blocked else { return "\(shape) kind\(format_kind.rawValue)" }
        let blocking = format_desc.blocking
        let strides = prefix(blocking.strides, n, as: dnnl_dim_t.self)
        let blocks = Int(blocking.inner_nblks)
        let sizes = prefix(blocking.inner_blks, blocks, as: dnnl_dim_t.self)
        let axes = prefix(blocking.inner_idxs, blocks, as: dnnl_dim_t.self)
        let inner = zip(axes, sizes).map { "\($0):\($1)" }.joined(separator: ",")
        let padded = prefix(padded_dims, n, as: dnnl_dim_t.self).map(String.init).joined(separator: "x")
        return "\(shape) p\(padded) s\(strides) b[\(inner)] o\(offset0)"
    }

    /// True for integer element types (u8, s8, s32), whose values need a scale to mean anything.
    var isQuantized: Bool { [dnnl_u8, dnnl_s8, dnnl_s32].contains(data_type) }

    /// True for the row-major layout of its dimensions.
    var isPlain: Bool {
        guard let plain = try? MemoryDesc.plain(dimensions, data_type) else { return false }
        return isEqual(to: plain)
    }
}

/// The `key` of every descriptor seen, by the descriptor's bytes: hashing them takes a fraction
/// of a microsecond, spelling the key out (arrays, joins) several, and inference asks for a key
/// per layer per image. Bounded: past 4096 descriptors it starts over.
final class DescriptorKeys: @unchecked Sendable {
    static let shared = DescriptorKeys()
    private var keys: [Bytes: String] = [:]
    private let lock = NSLock()

    func key(for md: MemoryDesc) -> String {
        let bytes = Bytes(md: md)
        lock.lock()
        defer { lock.unlock() }
        if let known = keys[bytes] { return known }
        if keys.count >= 4096 { keys.removeAll(keepingCapacity: true) }
        let key = md.spelledOut
        keys[bytes] = key
        return key
    }

    /// A descriptor compared and hashed as raw bytes (it is plain C data with no pointers).
    private struct Bytes: Hashable {
        let md: MemoryDesc

        static func == (a: Bytes, b: Bytes) -> Bool {
            withUnsafeBytes(of: a.md) { x in withUnsafeBytes(of: b.md) { y in memcmp(x.baseAddress!, y.baseAddress!, x.count) == 0 } }
        }

        func hash(into hasher: inout Hasher) { withUnsafeBytes(of: md) { hasher.combine(bytes: $0) } }
    }
}
