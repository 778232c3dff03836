import CMPI
import Foundation

/// MPI_COMM_WORLD of Open MPI, initialised with MPI_THREAD_FUNNELED: only the thread that
/// created it calls MPI (the loader's worker threads never do). Errors come back as return codes
/// and become `CommunicatorError`s, so the caller can abort with a message that names the rank.
public final class MPICommunicator: Communicator {
    public let rank: Int
    public let size: Int
    /// MPI takes `int` counts; longer buffers go in pieces of at most this many elements.
    static let maxCount = Int(Int32.max)

    public init() throws {
        try Self.check(cmpi_init(), "MPI_Init_thread")
        try Self.check(cmpi_errors_return(), "MPI_Comm_set_errhandler")
        var rank: Int32 = 0, size: Int32 = 0
        try Self.check(cmpi_rank(&rank), "MPI_Comm_rank")
        try Self.check(cmpi_size(&size), "MPI_Comm_size")
        self.rank = Int(rank)
        self.size = Int(size)
    }

    public func broadcast(_ values: UnsafeMutableBufferPointer<Float>, from root: Int) throws {
        try pieces(values) { try Self.check(cmpi_broadcast_floats($0, $1, Int32(root)), "MPI_Bcast") }
    }

    public func broadcast(bytes: [UInt8], from root: Int) throws -> [UInt8] {
        var length = Int64(bytes.count)
        try withUnsafeMutableBytes(of: &length) { count in
            try Self.check(cmpi_broadcast_bytes(count.baseAddress, Int32(count.count), Int32(root)), "MPI_Bcast")
        }
        var received = rank == root ? bytes : [UInt8](repeating: 0, count: Int(length))
        try received.withUnsafeMutableBufferPointer { buffer in
            try pieces(buffer) { try Self.check(cmpi_broadcast_bytes($0, $1, Int32(root)), "MPI_Bcast") }
        }
        return received
    }

    public func allreduceSum(_ values: UnsafeMutableBufferPointer<Float>) throws {
        try pieces(values) { try Self.check(cmpi_allreduce_float_sum($0, $1), "MPI_Allreduce") }
    }

    public func allreduceSum(_ values: UnsafeMutableBufferPointer<Double>) throws {
        try pieces(values) { try Self.check(cmpi_allreduce_double_sum($0, $1), "MPI_Allreduce") }
    }

    public func startAllreduceSum(_ values: UnsafeMutableBufferPointer<Float>) throws -> any PendingReduction {
        let started = Started()
        try pieces(values) { start, count in
            var request: MPI_Request?
            try Self.check(cmpi_iallreduce_float_sum(start, count, &request), "MPI_Iallreduce")
            started.requests.append(request)
        }
        return started
    }

    public func gather(bytes: [UInt8], to root: Int) throws -> [[UInt8]]? {
        guard bytes.count <= Self.maxCount else {
            throw CommunicatorError(operation: "MPI_Gatherv", message: "\(bytes.count) bytes exceed MPI's int count")
        }
        var counts = [Int32](repeating: 0, count: size)
        try Self.check(cmpi_gather_int(Int32(bytes.count), &counts, Int32(root)), "MPI_Gather")
        let total = counts.reduce(0) { $0 + Int($1) }
        guard rank != root || total <= Self.maxCount else {
            throw CommunicatorError(operation: "MPI_Gatherv", message: "\(total) bytes in all exceed MPI's int count")
        }
        var displacements = [Int32](repeating: 0, count: size)
        for index in counts.indices.dropFirst() { displacements[index] = displacements[index - 1] + counts[index - 1] }
        var received = [UInt8](repeating: 0, count: rank == root ? max(total, 1) : 1)
        try bytes.withUnsafeBytes { send in
            try received.withUnsafeMutableBytes { receive in
                try Self.check(cmpi_gatherv_bytes(send.baseAddress, Int32(bytes.count), receive.baseAddress, counts,
                                                  displacements, Int32(root)), "MPI_Gatherv")
            }
        }
        guard rank == root else { return nil }
        return counts.indices.map { Array(received[Int(displacements[$0])..<Int(displacements[$0] + counts[$0])]) }
    }

    public func barrier() throws { try Self.check(cmpi_barrier(), "MPI_Barrier") }

    public func abort(_ message: String, code: Int32) -> Never {
        FileHandle.standardError.write(Data("error: rank \(rank) of \(size): \(message); aborting the job\n".utf8))
        _ = cmpi_abort(code)
        exit(code)
    }

    public func finalize() { _ = cmpi_finalize() }

    /// `body(start, count)` over consecutive pieces of at most `maxCount` elements.
    private func pieces<T>(_ values: UnsafeMutableBufferPointer<T>,
                           _ body: (UnsafeMutablePointer<T>, Int32) throws -> Void) throws {
        guard let base = values.baseAddress else { return }
        for start in stride(from: 0, to: values.count, by: Self.maxCount) {
            try body(base + start, Int32(min(Self.maxCount, values.count - start)))
        }
    }

    static func check(_ code: Int32, _ operation: String) throws {
        guard code != MPI_SUCCESS else { return }
        var text = [CChar](repeating: 0, count: 1024)  // MPI_MAX_ERROR_STRING is 256 in Open MPI 4
        var length: Int32 = 0
        cmpi_error_string(code, &text, &length)
        throw CommunicatorError(operation: operation, message: String(decoding: text.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self))
    }

    /// The requests of one started allreduce (one per piece of at most `maxCount` elements).
    private final class Started: PendingReduction {
        var requests: [MPI_Request?] = []
        private var done = false

        func test() throws -> Bool {
            guard !done else { return true }
            var complete = true
            for index in requests.indices {
                var flag: Int32 = 0
                try MPICommunicator.check(cmpi_test(&requests[index], &flag), "MPI_Test")
                complete = complete && flag != 0
            }
            done = complete
            return done
        }

        func wait() throws {
            guard !done else { return }
            for index in requests.indices { try MPICommunicator.check(cmpi_wait(&requests[index]), "MPI_Wait") }
            done = true
        }
    }
}
