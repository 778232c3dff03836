import ArgumentParser
import Distributed
import Foundation

/// train, evaluate and predict share their work among the ranks of an mpirun or srun launch;
/// every other command runs as one process. Launched as several ranks, each rank would run all
/// of such a command and write the same files (or serve on the same port, or time itself while
/// the others load the same cores), so it stops in `validate()`, before MPI starts or anything
/// runs, and says so.
enum OneProcess {
    /// Throws when a launcher started this process as one rank of several. `consequence` says
    /// what the ranks would do; `instead` what to run.
    static func require(_ command: String, consequence: String = "each rank would run all of it and write the same files",
                        instead: String = "run it without a launcher") throws {
        let environment = ProcessInfo.processInfo.environment
        guard World.launched(environment) || World.unconnectedTasks(environment) != nil else { return }
        throw ValidationError("\(command) runs as one process, not under mpirun or srun (\(consequence)): \(instead)")
    }

    /// `require` for the bench commands, whose ranks would spoil each other's timings.
    static func requireForTiming(_ command: String) throws {
        try require(command, consequence: "each rank would time itself while the others load the same cores",
                    instead: "run it alone on a quiet machine (benchmarks/distributed.sh measures data-parallel training)")
    }
}
