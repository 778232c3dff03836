import CDNNL
import Foundation

/// The one CPU engine and in-order stream every primitive runs on, plus the cache of
/// primitives built so far.
///
/// oneDNN parallelises each primitive internally with OpenMP, so a single stream used from
/// one thread at a time is both the fastest and the only safe arrangement (see NOTES.md:
/// two OpenMP-parallel primitives from two Swift threads oversubscribe the cores).
public final class Engine: @unchecked Sendable {
    public static let shared: Engine = {
        do { return try Engine() } catch { fatalError("cannot create the oneDNN CPU engine: \(error)") }
    }()

    let engine: dnnl_engine_t
    let stream: dnnl_stream_t
    private var primitives: [String: Primitive] = [:]
    private let lock = NSLock()

    private init() throws {
        var engine: dnnl_engine_t?
        try check(dnnl_engine_create(&engine, dnnl_cpu, 0), "engine_create(cpu)")
        var stream: dnnl_stream_t?
        try check(dnnl_stream_create(&stream, engine, dnnl_stream_default_flags.rawValue), "stream_create")
        self.engine = engine!
        self.stream = stream!
    }

    /// Returns the primitive cached under `key`, building it with `make` the first time.
    /// Keys spell out the operation, its parameters and every input layout, so one layer
    /// called with two batch sizes gets two primitives and reuses both.
    func primitive(_ key: String, _ make: () throws -> Primitive) throws -> Primitive {
        lock.lock()
        defer { lock.unlock() }
        if let cached = primitives[key] { return cached }
        let built = try make()
        primitives[key] = built
        return built
    }

    /// How many distinct primitives exist; tests use it to prove reuse.
    public var cachedPrimitiveCount: Int {
        lock.lock()
        defer { lock.unlock() }
        return primitives.count
    }

    /// The implementation oneDNN picked for the primitives in the cache (e.g. `jit:avx2`),
    /// for benchmarks and diagnostics.
    public var implementations: [String: String] {
        lock.lock()
        defer { lock.unlock() }
        return primitives.mapValues { $0.implementation }
    }

    /// The implementations chosen so far per kind of operation (`conv forward` →
    /// `brgconv:avx512_core_vnni`, `jit_int8:avx2`, …): which kernels a precision really got.
    public var implementationsByOperation: [String: [String]] {
        lock.lock()
        defer { lock.unlock() }
        return Dictionary(grouping: primitives.values, by: \.name).mapValues { $0.map(\.implementation) }
    }
}

extension Engine {
    /// Threads each primitive may use (OpenMP). Defaults to OMP_NUM_THREADS or all cores.
    public static var threads: Int {
        get { Int(omp_get_max_threads()) }
        set { omp_set_num_threads(Int32(max(1, newValue))) }
    }
}

extension Engine {
    /// The oneDNN library actually loaded, e.g. "oneDNN 2.6.3 (cpu runtime OpenMP)", for run
    /// records and bug reports.
    public static var libraryVersion: String {
        guard let v = dnnl_version()?.pointee else { return "oneDNN (unknown version)" }
        return "oneDNN \(v.major).\(v.minor).\(v.patch)"
    }
}
