import Foundation

/// The communicator of this process: MPI when a launcher started it as one of several ranks,
/// else `SingleProcess`.
///
/// Launchers are recognised by the variables they set: Open MPI's `mpirun` sets
/// `OMPI_COMM_WORLD_SIZE`, Slurm's `srun` with PMIx sets `PMIX_RANK` and with PMI-2 `PMI_SIZE`
/// (which Debian's Open MPI cannot use: it refuses to start, saying so). Without them MPI is
/// never initialised (a singleton MPI_Init would start Open MPI's runtime for nothing), and a
/// launch of one rank behaves exactly like no launch.
public enum World {
    /// Created on first use; the same object for the life of the process.
    public static func communicator() throws -> any Communicator {
        lock.lock()
        defer { lock.unlock() }
        if let shared { return shared }
        let environment = ProcessInfo.processInfo.environment
        if let tasks = unconnectedTasks(environment) { throw UnconnectedLaunch(tasks: tasks) }
        let created: any Communicator = launched(environment) ? try MPICommunicator() : SingleProcess()
        if created.size == 1 && created is MPICommunicator { created.finalize() }
        shared = created.size == 1 ? SingleProcess() : created
        return shared!
    }

    /// Whether `environment` says a launcher started this process as one rank of more than one
    /// (or of an unknown number: PMIx does not say, MPI then tells).
    public static func launched(_ environment: [String: String]) -> Bool {
        for key in ["OMPI_COMM_WORLD_SIZE", "PMI_SIZE"] {
            if let value = environment[key] { return (Int(value) ?? 2) > 1 }
        }
        return environment["PMIX_RANK"] != nil
    }

    /// The number of tasks of a Slurm step that `srun` started without a process manager MPI can
    /// use (`--mpi=none`, or a site whose `MpiDefault` is none), else nil. Such tasks cannot find
    /// each other: each would run the whole command alone and all would write the same files.
    /// Slurm sets `SLURM_STEP_NUM_TASKS` in every task of a step (not in a batch script itself).
    public static func unconnectedTasks(_ environment: [String: String]) -> Int? {
        guard let tasks = environment["SLURM_STEP_NUM_TASKS"].flatMap(Int.init), tasks > 1,
              !["OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK"].contains(where: { environment[$0] != nil })
        else { return nil }
        return tasks
    }

    nonisolated(unsafe) private static var shared: (any Communicator)?
    private static let lock = NSLock()
}

/// `srun` started several tasks that MPI cannot join into one job.
public struct UnconnectedLaunch: Error, CustomStringConvertible {
    public let tasks: Int
    public init(tasks: Int) { self.tasks = tasks }
    public var description: String {
        "srun started \(tasks) tasks without PMIx, so they cannot form one MPI job (each would run the whole "
            + "command alone and write the same files): run `srun --mpi=pmix`, or set MpiDefault=pmix in slurm.conf"
    }
}

extension Communicator {
    public var isRoot: Bool { rank == 0 }

    /// Runs one command's work. With several ranks an error in one of them would leave the others
    /// waiting forever in their next collective, so it ends the job (`abort`) with a message that
    /// names the rank and the error; a single process rethrows, as before. MPI is left at the end.
    public func run<T>(_ body: () throws -> T) rethrows -> T {
        do {
            let result = try body()
            finalize()
            return result
        } catch {
            if size > 1 { abort("\(error)", code: 1) }
            throw error
        }
    }

    /// Root's `Codable` value on every rank (JSON, so it may be any size).
    public func broadcast<T: Codable>(_ value: T, from root: Int) throws -> T {
        let bytes = rank == root ? [UInt8](try JSONEncoder().encode(value)) : []
        return try JSONDecoder().decode(T.self, from: Data(try broadcast(bytes: bytes, from: root)))
    }

    /// Every rank's values, by rank, on `root` (nil elsewhere).
    public func gather<T: BitwiseCopyable>(_ values: [T], to root: Int) throws -> [[T]]? {
        let bytes = values.withUnsafeBytes { [UInt8]($0) }
        return try gather(bytes: bytes, to: root)?.map { block in
            [T](unsafeUninitializedCapacity: block.count / MemoryLayout<T>.stride) { buffer, count in
                count = buffer.count
                block.withUnsafeBytes { UnsafeMutableRawBufferPointer(buffer).copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[..<(count * MemoryLayout<T>.stride)])) }
            }
        }
    }

    /// The consecutive batches of `batchSize` over `count` items that this rank handles, as item
    /// indices: the single process's batches, dealt out in contiguous runs, so every item is
    /// computed in exactly the batch it would be in alone and a gather in rank order restores
    /// the single process's order.
    public func shard(count: Int, batchSize: Int) -> Range<Int> {
        let batches = (count + batchSize - 1) / batchSize
        let first = rank * batches / size, end = (rank + 1) * batches / size
        return min(first * batchSize, count)..<min(end * batchSize, count)
    }
}
