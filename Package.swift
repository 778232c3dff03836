// swift-tools-version:6.0
import PackageDescription

/// Module layout follows ../shared/DESIGN.md: dependencies only point down
/// (skinlesion → Serving → Inference → Models → NeuralNet → CDNNL;
/// Dermoscopy → CImageCodecs, and → NeuralNet for the one seeded generator and batch tensors;
/// Interop → Models, CHDF5 and ZIPFoundation: weight formats in and out, one folder each;
/// Training → Distributed → CMPI: the Communicator, a single process or Open MPI).
let package = Package(
    name: "SkinLesion",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "skinlesion", targets: ["skinlesion"]),
        .library(name: "NeuralNet", targets: ["NeuralNet"]),
        .library(name: "Models", targets: ["Models"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.0.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.0"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.34.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.0.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/vapor/multipart-kit", from: "4.7.1"),
        .package(url: "https://github.com/weichsel/ZIPFoundation", from: "0.9.20"),
    ],
    targets: [
        .systemLibrary(name: "CDNNL", path: "Sources/CDNNL"),
        .target(name: "NeuralNet", dependencies: ["CDNNL"]),
        .systemLibrary(name: "CImageCodecs", path: "Sources/CImageCodecs"),
        .target(name: "Dermoscopy", dependencies: ["CImageCodecs", "NeuralNet"]),
        .target(name: "Models", dependencies: ["NeuralNet"]),
        .systemLibrary(name: "CHDF5", path: "Sources/CHDF5"),
        .target(name: "Interop", dependencies: [
            "CHDF5", "Models", "NeuralNet", .product(name: "ZIPFoundation", package: "ZIPFoundation"),
        ]),
        .target(name: "Inference", dependencies: ["Dermoscopy", "Models", "NeuralNet"]),
        .systemLibrary(name: "CMPI", path: "Sources/CMPI", pkgConfig: "ompi-c", providers: [.apt(["libopenmpi-dev"])]),
        .target(name: "Distributed", dependencies: ["CMPI"]),
        .target(name: "Training", dependencies: ["Dermoscopy", "Distributed", "Inference", "Models", "NeuralNet"]),
        .target(name: "Serving", dependencies: [
            "Dermoscopy", "Inference", "Models", "NeuralNet",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HummingbirdCore", package: "hummingbird"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "Prometheus", package: "swift-prometheus"),
            .product(name: "MultipartKit", package: "multipart-kit"),
        ]),
        .executableTarget(
            name: "skinlesion",
            dependencies: [
                "Dermoscopy", "Distributed", "Inference", "Interop", "Models", "NeuralNet", "Serving", "Training",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .target(name: "TestSupport", dependencies: ["NeuralNet"], path: "Tests/TestSupport"),
        .testTarget(name: "NeuralNetTests", dependencies: ["NeuralNet", "TestSupport"]),
        .testTarget(name: "DermoscopyTests", dependencies: ["Dermoscopy", "NeuralNet"], exclude: ["Fixtures"]),
        .testTarget(name: "TrainingTests", dependencies: ["Training", "Distributed", "Dermoscopy", "Inference", "Models", "NeuralNet", "TestSupport"]),
        .testTarget(name: "ServingTests", dependencies: [
            "Dermoscopy", "Serving", "Inference", "Models", "NeuralNet", .product(name: "Logging", package: "swift-log"),
            .product(name: "Crypto", package: "swift-crypto"),
        ]),
        .testTarget(name: "ModelsTests", dependencies: [
            "Dermoscopy", "Inference", "Interop", "Models", "NeuralNet", "TestSupport",
            .product(name: "ZIPFoundation", package: "ZIPFoundation"),
        ], exclude: ["Fixtures"]),
    ]
)

/// Coverage-guided fuzzing (`scripts/fuzz`, README "Fuzzing"): with SKINLESION_FUZZ set, the modules that
/// parse outside bytes are compiled with libFuzzer's coverage instrumentation and AddressSanitizer (and
/// `-enable-testing`, as the harnesses reach internal parsers the way the tests do), and `SkinLesionFuzz`
/// links libFuzzer around one harness per parser (Fuzz/). Off by default, so normal builds and CI's test
/// build never see unsafe flags; `scripts/fuzz` builds it in its own scratch path.
if Context.environment["SKINLESION_FUZZ"] != nil {
    let sanitizers = ["-sanitize=fuzzer,address"]
    let parsers: Set = ["NeuralNet", "Dermoscopy", "Models", "Inference", "Interop", "Serving"]
    for target in package.targets where parsers.contains(target.name) {
        target.swiftSettings = (target.swiftSettings ?? []) + [.unsafeFlags(sanitizers + ["-enable-testing"])]
    }
    package.targets.append(.systemLibrary(name: "CLibFuzzer", path: "Fuzz/CLibFuzzer"))
    package.targets.append(.executableTarget(
        name: "SkinLesionFuzz",
        dependencies: ["CLibFuzzer", "Dermoscopy", "Inference", "Interop", "Models", "NeuralNet", "Serving"],
        path: "Fuzz/SkinLesionFuzz",
        swiftSettings: [.unsafeFlags(sanitizers + ["-parse-as-library"])],
        linkerSettings: [.unsafeFlags(sanitizers)]
    ))
}
