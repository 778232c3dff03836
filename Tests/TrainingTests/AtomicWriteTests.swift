import Foundation
import NeuralNet
import TestSupport
import XCTest

/// Every file `train`, `evaluate`, `calibrate` and `dataset split` write is written as a
/// temporary file in the same directory, fsync'ed, renamed into place and the directory
/// fsync'ed: checked on the system calls themselves, under strace, for the real binary.
final class AtomicWriteTests: XCTestCase {
    static let traced = "trace=openat,open,creat,fsync,fdatasync,rename,renameat,renameat2"

    func testEveryWriteIsTemporaryFileFsyncRenameDirectoryFsync() throws {
        guard let strace = ["/usr/bin/strace", "/bin/strace"].first(where: FileManager.default.isExecutableFile(atPath:)) else {
            throw XCTSkip("strace is not installed (scripts/setup installs it)")
        }
        let directory = try temporaryDirectory("skinlesion-atomic").resolvingSymlinksInPath()
        let training = try TinyTraining(in: directory)
        let run = directory.appendingPathComponent("run")
        var arguments = training.arguments(output: run)
        arguments[arguments.firstIndex(of: "--epochs")! + 1] = "2"
        let commands: [(String, [String])] = [
            ("train", arguments),
            ("evaluate", ["evaluate", "--model", run.appendingPathComponent("best.safetensors").path, "--dataset", training.data.path,
                          "--output", run.appendingPathComponent("eval").path]),
            ("calibrate", ["calibrate", "--model", run.appendingPathComponent("best.safetensors").path, "--dataset", training.data.path]),
            ("split", ["dataset", "split", training.data.path, "--output", run.appendingPathComponent("split-2.csv").path]),
        ]
        var trace: [Substring] = []
        for (name, command) in commands {
            let file = directory.appendingPathComponent("\(name).strace")
            let result = try CommandLineTool.run(command, logs: directory.appendingPathComponent(name),
                                                 wrapper: [strace, "-f", "-y", "-qq", "-e", Self.traced, "-o", file.path])
            if result.status != 0, result.stderr.contains("ptrace") { throw XCTSkip("strace cannot trace here: \(result.stderr)") }
            XCTAssertEqual(result.status, 0, "\(name): \(result.stderr)")
            trace += try String(contentsOf: file, encoding: .utf8).split(separator: "\n")
        }

        var checked: [String] = []
        for case let file as URL in FileManager.default.enumerator(at: run, includingPropertiesForKeys: [.isRegularFileKey]) ?? .init()
        where (try file.resourceValues(forKeys: [.isRegularFileKey])).isRegularFile == true {
            let path = file.resolvingSymlinksInPath().path
            let folder = file.deletingLastPathComponent().resolvingSymlinksInPath().path
            // The rename that put this file's final contents in place, from its temporary name.
            guard let renamed = trace.lastIndex(where: { $0.contains("rename") && $0.contains(", \"\(path)\"") }),
                  let temporary = trace[renamed].split(separator: "\"").dropFirst().first.map(String.init) else {
                XCTFail("\(path) was not renamed into place:\n" + trace.filter { $0.contains(path) }.joined(separator: "\n"))
                continue
            }
            XCTAssertEqual(URL(fileURLWithPath: temporary).deletingLastPathComponent().path, folder, "\(path): temporary file in the same folder")
            XCTAssertTrue(AtomicFile.isTemporary(URL(fileURLWithPath: temporary).lastPathComponent), temporary)
            let created = trace[..<renamed].lastIndex { $0.contains("open") && $0.contains("\"\(temporary)\"") && $0.contains("O_CREAT") }
            let synced = trace[..<renamed].lastIndex { $0.contains("fsync(") && $0.contains("<\(temporary)>") }
            let directorySynced = trace[renamed...].firstIndex { $0.contains("fsync(") && $0.contains("<\(folder)>") }
            XCTAssertNotNil(created, "\(path): temporary file created")
            XCTAssertNotNil(synced, "\(path): temporary file fsync'ed before the rename")
            XCTAssertLessThan(created ?? .max, synced ?? .min, "\(path): created, written, then fsync'ed")
            XCTAssertNotNil(directorySynced, "\(path): its directory fsync'ed after the rename")
            checked.append(String(path.dropFirst(run.path.count + 1)))
        }
        for expected in ["config.json", "command.txt", "versions.txt", "split.csv", "log.csv", "log.json", "best.safetensors",
                         "MODEL_CARD.md", "eval/report.json", "eval/predictions.csv", "eval/report.html", "split-2.csv"] {
            XCTAssertTrue(checked.contains(expected), "\(expected) among \(checked.sorted())")
        }
        XCTAssertTrue(checked.contains { $0.hasPrefix("checkpoints/step-") }, "\(checked)")
        // Nothing under the run is opened for writing by any other route.
        for line in trace where line.contains("open") && line.contains("\"\(run.path)/") && (line.contains("O_WRONLY") || line.contains("O_RDWR")) {
            let opened = line.split(separator: "\"")[1]
            XCTAssertTrue(AtomicFile.isTemporary(URL(fileURLWithPath: String(opened)).lastPathComponent), "written in place: \(line)")
        }
    }
}
