/// The processes one job runs in, and the few collective operations data-parallel training and
/// sharded inference need (DESIGN decision 9). Two implementations: `SingleProcess` (one rank,
/// every operation the identity, no MPI at all) and `MPICommunicator` (Open MPI, under
/// `mpirun` or `srun`). Callers talk to this protocol only, so none asks "am I distributed?".
///
/// Every operation is collective: each rank calls it in the same order with matching sizes,
/// or the job hangs; that is why a failing rank must `abort` rather than throw on its own.
public protocol Communicator: AnyObject {
    /// This process's rank, 0..<size; rank 0 writes files and prints.
    var rank: Int { get }
    var size: Int { get }

    /// Root's values into every rank's buffer (which must have the same count everywhere).
    func broadcast(_ values: UnsafeMutableBufferPointer<Float>, from root: Int) throws
    /// Root's bytes to every rank, whatever their length; the argument is ignored elsewhere.
    func broadcast(bytes: [UInt8], from root: Int) throws -> [UInt8]
    /// Elementwise sum over the ranks, in place, blocking.
    func allreduceSum(_ values: UnsafeMutableBufferPointer<Float>) throws
    func allreduceSum(_ values: UnsafeMutableBufferPointer<Double>) throws
    /// Starts an in-place sum and returns at once; the buffer must stay alive and untouched
    /// until the returned reduction's `wait()` has returned.
    func startAllreduceSum(_ values: UnsafeMutableBufferPointer<Float>) throws -> any PendingReduction
    /// Every rank's bytes, by rank, on `root` (nil on the other ranks); lengths may differ.
    func gather(bytes: [UInt8], to root: Int) throws -> [[UInt8]]?
    func barrier() throws
    /// Ends the whole job: says which rank failed and why on stderr, then MPI_Abort (every rank
    /// is killed, `mpirun` exits non-zero). A single process exits with `code`.
    func abort(_ message: String, code: Int32) -> Never
    /// Leaves MPI at the end of a command (nothing for a single process).
    func finalize()
}

/// An allreduce started by `startAllreduceSum`.
public protocol PendingReduction: AnyObject {
    /// Lets MPI move the reduction on (MPI progresses a started collective only inside its
    /// calls); true once it is complete.
    func test() throws -> Bool
    /// Blocks until the sum is in the buffer.
    func wait() throws
}

public struct CommunicatorError: Error, CustomStringConvertible {
    public let operation: String
    public let message: String
    public var description: String { "MPI \(operation) failed: \(message)" }
}
