/// One libFuzzer harness: a parser of outside bytes, fed whatever the fuzzer makes of the seed
/// corpus. A harness passes the bytes to the parser's real entry point and ignores the errors it
/// throws (a clear error is the right answer to a bad file); a crash, a sanitizer report, a hang or
/// a broken `Invariant` is a finding.
struct FuzzTarget: Sendable {
    /// What `scripts/fuzz` calls it, and the name of its corpus folder.
    let name: String
    /// The parser and entry point it drives, for `scripts/fuzz --list`.
    let summary: String
    let run: @Sendable (UnsafeRawBufferPointer) -> Void

    /// Every harness, in the order `scripts/fuzz --list` prints them.
    static let all: [FuzzTarget] = [
        .safetensors, .modelMetadata, .imageJPEG, .imagePNG, .exifOrientation,
        .csvManifest, .ham10000, .isic2016, .isicOneHot, .isicArchive, .datasetDetect, .splitManifest,
        .metadataSpec, .ensembleManifest, .multipart, .upload, .zipArchive, .torchCheckpoint, .kerasConfig,
    ]
}

/// A property a parser's successful result must have; broken, it stops the run like a crash does.
func invariant(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String,
               file: StaticString = #fileID, line: UInt = #line) {
    if !condition() { fatalError("invariant broken: \(message())", file: file, line: line) }
}
