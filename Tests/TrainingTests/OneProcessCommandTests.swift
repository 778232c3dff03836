import Foundation
import TestSupport
import XCTest

/// Every command but train, evaluate and predict (which share their work among the ranks) runs as
/// one process: launched as one rank of several, by mpirun (`OMPI_COMM_WORLD_SIZE`), Slurm with
/// PMIx (`PMIX_RANK`) or PMI-2 (`PMI_SIZE`), or srun without a process manager
/// (`SLURM_STEP_NUM_TASKS`), it stops before MPI starts or anything runs, naming itself and what
/// to run instead, and writes nothing. A launch of one rank changes nothing.
final class OneProcessCommandTests: XCTestCase {
    func testCommandsThatDoNotShareTheirWorkStopUnderALauncher() throws {
        let directory = try temporaryDirectory("skinlesion-one-process")
        let output = directory.appendingPathComponent("out").path
        let commands: [[String]] = [
            ["models"], ["dataset", "inspect", "x"], ["dataset", "split", "x", "--output", output],
            ["calibrate", "--model", "m", "--dataset", "d"], ["quantize", "--model", "m", "--dataset", "d", "--output", output],
            ["export", "--model", "m", "--output", output], ["import", "--from", "x", "--arch", "resnet50", "--output", output],
            ["card", "--model", "m"], ["serve", "--model", "m"], ["bench"], ["bench-decode", "x"], ["bench-loader", "x"],
            ["tune", "--dataset", "d", "--space", "lr=1e-3", "--output", output],
        ]
        let launches: [[String: String]] = [["OMPI_COMM_WORLD_SIZE": "2"], ["PMIX_RANK": "0"], ["PMI_SIZE": "4"],
                                             ["SLURM_STEP_NUM_TASKS": "2"]]
        for (index, command) in commands.enumerated() {
            let name = command.prefix(2).joined(separator: " ").replacingOccurrences(of: " x", with: "")
            let words = command[0] == "dataset" ? "\(command[0]) \(command[1])" : command[0]
            let launch = launches[index % launches.count]
            let result = try CommandLineTool.run(command, logs: directory.appendingPathComponent("\(index)"), environment: launch)
            XCTAssertNotEqual(result.status, 0, "\(name) under \(launch)")
            XCTAssertTrue(result.stderr.contains("\(words) runs as one process, not under mpirun or srun"), "\(name): \(result.stderr)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: output), "\(name) wrote \(output) under a launcher")
        }
        let alone = try CommandLineTool.run(["models"], logs: directory.appendingPathComponent("alone"),
                                            environment: ["OMPI_COMM_WORLD_SIZE": "1"])
        XCTAssertEqual(alone.status, 0, "one rank is no launch: \(alone.stderr)")
        XCTAssertTrue(alone.stdout.contains("resnet50"), alone.stdout)
    }
}
