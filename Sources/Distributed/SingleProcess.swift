import Foundation

/// One process, one rank: today's behaviour without `mpirun`. Every collective is the identity
/// and nothing touches MPI, so the binary runs where MPI is installed but not launched.
public final class SingleProcess: Communicator {
    public init() {}

    public var rank: Int { 0 }
    public var size: Int { 1 }

    public func broadcast(_ values: UnsafeMutableBufferPointer<Float>, from root: Int) throws {}
    public func broadcast(bytes: [UInt8], from root: Int) throws -> [UInt8] { bytes }
    public func allreduceSum(_ values: UnsafeMutableBufferPointer<Float>) throws {}
    public func allreduceSum(_ values: UnsafeMutableBufferPointer<Double>) throws {}
    public func startAllreduceSum(_ values: UnsafeMutableBufferPointer<Float>) throws -> any PendingReduction { Completed() }
    public func gather(bytes: [UInt8], to root: Int) throws -> [[UInt8]]? { [bytes] }
    public func barrier() throws {}

    public func abort(_ message: String, code: Int32) -> Never {
        FileHandle.standardError.write(Data("error: \(message)\n".utf8))
        exit(code)
    }

    public func finalize() {}

    /// A sum over one process, complete when started.
    private final class Completed: PendingReduction {
        func test() throws -> Bool { true }
        func wait() throws {}
    }
}
