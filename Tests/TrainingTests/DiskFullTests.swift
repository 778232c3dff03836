import Foundation
import NeuralNet
import TestSupport
import XCTest
@testable import Training

/// A full disk (a small tmpfs the test mounts): training stops with an error naming the path,
/// every file stays as it was, and once space is freed `train --resume` ends exactly where an
/// uninterrupted run ends; split, report and model writes behave the same way.
final class DiskFullTests: XCTestCase {
    func testTrainingStopsWithThePathKeepsEveryFileAndResumesOnceSpaceIsFreed() throws {
        let directory = try temporaryDirectory("skinlesion-full")
        let disk = try SmallDisk(megabytes: 192, for: self)
        let training = try TinyTraining(in: directory)
        let straight = RunDirectory(directory.appendingPathComponent("straight"))
        let reference = try CommandLineTool.run(training.arguments(output: straight.url), logs: directory.appendingPathComponent("straight"))
        XCTAssertEqual(reference.status, 0, reference.stderr)

        let run = RunDirectory(disk.url.appendingPathComponent("run"))
        let logs = directory.appendingPathComponent("full")
        let process = try CommandLineTool.start(training.arguments(output: run.url), logs: logs)
        // Into the second epoch: a best model, a log and checkpoints exist to be kept.
        let deadline = Date().addingTimeInterval(300)
        while process.isRunning, Date() < deadline, (try? String(contentsOf: run.logCSV, encoding: .utf8))?.contains("\n1,") != true {
            usleep(2000)
        }
        XCTAssertTrue(process.isRunning, "the run ended before the disk could be filled")
        // Stopped between writes (no temporary file, old checkpoints already pruned), so the
        // next thing it does on disk is a write that meets the full disk.
        while true {
            kill(process.processIdentifier, SIGSTOP)
            usleep(20_000)
            let names = [run.url, run.checkpoints].flatMap { (try? FileManager.default.contentsOfDirectory(atPath: $0.path)) ?? [] }
            if !names.contains(where: AtomicFile.isTemporary), run.existingCheckpoints().count <= 2 { break }
            kill(process.processIdentifier, SIGCONT)
            usleep(UInt32.random(in: 100...3000))
        }
        try disk.fill()
        let before = try disk.contents().filter { !AtomicFile.isTemporary(URL(fileURLWithPath: $0.key).lastPathComponent) }
        kill(process.processIdentifier, SIGCONT)
        let full = CommandLineTool.result(of: process, logs: logs)
        XCTAssertEqual(full.status, 1, full.stderr)
        XCTAssertTrue(full.stderr.contains("Error: \(run.url.path)/"), full.stderr)
        XCTAssertTrue(full.stderr.contains(": No space left on device; the previous file, if any, is unchanged"), full.stderr)
        print("disk full: \(full.stderr.split(separator: "\n").last { $0.hasPrefix("Error:") } ?? "")")
        XCTAssertEqual(try disk.contents(), before, "every file is as it was and no temporary file is left")
        XCTAssertGreaterThan(try TinyTraining.checkReadable(run), 0)
        XCTAssertTrue(before.keys.contains("run/best.safetensors"), "\(before.keys.sorted())")

        try disk.free()
        let resumed = try CommandLineTool.run(["train", "--resume", run.url.path], logs: directory.appendingPathComponent("resumed"))
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        try assertSameEnd(run, straight)
    }

    func testSplitReportAndModelWritesOnAFullDiskKeepThePreviousFile() throws {
        let directory = try temporaryDirectory("skinlesion-full-writes")
        let disk = try SmallDisk(megabytes: 64, for: self)
        let training = try TinyTraining(in: directory)
        var arguments = training.arguments(output: directory.appendingPathComponent("run"))
        arguments[arguments.firstIndex(of: "--epochs")! + 1] = "1"
        arguments[arguments.firstIndex(of: "--warmup-epochs")! + 1] = "0"
        XCTAssertEqual(try CommandLineTool.run(arguments, logs: directory.appendingPathComponent("train")).status, 0)
        for name in ["best.safetensors", "split.csv"] {
            try FileManager.default.copyItem(at: directory.appendingPathComponent("run/\(name)"), to: disk.url.appendingPathComponent(name))
        }
        let model = disk.url.appendingPathComponent("best.safetensors").path
        let commands: [(writes: String, arguments: [String])] = [
            ("split.csv", ["dataset", "split", training.data.path, "--output", disk.url.appendingPathComponent("split.csv").path, "--seed", "9"]),
            ("eval/report.json", ["evaluate", "--model", model, "--dataset", training.data.path,
                                  "--output", disk.url.appendingPathComponent("eval").path]),
            ("best.safetensors", ["calibrate", "--model", model, "--dataset", training.data.path]),
        ]
        // With space, each command works (and leaves a previous file for the full-disk attempt).
        for (_, command) in commands.dropFirst() {
            let result = try CommandLineTool.run(command, logs: directory.appendingPathComponent("before"))
            XCTAssertEqual(result.status, 0, result.stderr)
        }
        try disk.fill()
        let before = try disk.contents()
        for (writes, command) in commands {
            let result = try CommandLineTool.run(command, logs: directory.appendingPathComponent("full"))
            XCTAssertEqual(result.status, 1, "\(writes): \(result.stderr)")
            XCTAssertTrue(result.stderr.contains("\(disk.url.path)/\(writes): cannot "), "\(writes): \(result.stderr)")
            XCTAssertTrue(result.stderr.contains("No space left on device"), "\(writes): \(result.stderr)")
            XCTAssertEqual(try disk.contents(), before, "\(writes): the previous files are kept and nothing is left behind")
        }
        try disk.free()
        for (writes, command) in commands {
            let result = try CommandLineTool.run(command, logs: directory.appendingPathComponent("freed"))
            XCTAssertEqual(result.status, 0, "\(writes) once space is freed: \(result.stderr)")
        }
    }
}

extension XCTestCase {
    /// The best model and the last checkpoint of `run` are byte-identical to `reference`'s.
    func assertSameEnd(_ run: RunDirectory, _ reference: RunDirectory, file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssertEqual(try Data(contentsOf: run.bestModel), try Data(contentsOf: reference.bestModel),
                       "best model differs from the uninterrupted run's", file: file, line: line)
        let ours = try XCTUnwrap(run.existingCheckpoints().last), theirs = try XCTUnwrap(reference.existingCheckpoints().last)
        XCTAssertEqual(ours.lastPathComponent, theirs.lastPathComponent, file: file, line: line)
        XCTAssertEqual(try Data(contentsOf: ours), try Data(contentsOf: theirs),
                       "last checkpoint differs from the uninterrupted run's", file: file, line: line)
    }
}
