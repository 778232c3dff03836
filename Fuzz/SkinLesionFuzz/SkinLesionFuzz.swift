import CLibFuzzer
import Foundation

/// One binary holds every harness (one link instead of fifteen); `SKINLESION_FUZZ_TARGET` picks
/// the one a run drives, so each run's coverage, corpus and crashes belong to one parser. The
/// arguments are libFuzzer's (`-runs=`, `-max_total_time=`, corpus folders, inputs to replay).
@main
enum SkinLesionFuzz {
    nonisolated(unsafe) static var selected: FuzzTarget?

    static func main() {
        let name = ProcessInfo.processInfo.environment["SKINLESION_FUZZ_TARGET"] ?? ""
        if name == "--list" {
            for target in FuzzTarget.all { print(target.name.padding(toLength: 18, withPad: " ", startingAt: 0), target.summary) }
            return
        }
        guard let target = FuzzTarget.all.first(where: { $0.name == name }) else {
            let names = FuzzTarget.all.map(\.name).joined(separator: ", ")
            FileHandle.standardError.write(Data("SkinLesionFuzz: set SKINLESION_FUZZ_TARGET to one of \(names) (got '\(name)')\n".utf8))
            exit(2)
        }
        selected = target
        var argc = CommandLine.argc
        var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
        exit(LLVMFuzzerRunDriver(&argc, &argv, fuzzerTestOneInput))
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
func fuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    // libFuzzer's buffer is exactly `size` bytes, so AddressSanitizer catches a read one past its end.
    SkinLesionFuzz.selected!.run(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}
