// swift-tools-version:6.0
import PackageDescription

/// Module layout follows ../shared/DESIGN.md: dependencies only point down
/// (skinlesion → Serving → Inference → Models → NeuralNet → CDNNL;
/// Dermoscopy → CImageCodecs, and → NeuralNet for the one seeded generator and batch tensors;
/// Interop → Models, CHDF5 and ZIPFoundation: weight formats in and out, one folder each).
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
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.0.0"),
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
        .target(name: "Training", dependencies: ["Dermoscopy", "Inference", "Models", "NeuralNet"]),
        .target(name: "Serving", dependencies: [
            "Dermoscopy", "Inference", "Models", "NeuralNet",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ]),
        .executableTarget(
            name: "skinlesion",
            dependencies: [
                "Dermoscopy", "Inference", "Interop", "Models", "NeuralNet", "Serving", "Training",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .target(name: "TestSupport", dependencies: ["NeuralNet"], path: "Tests/TestSupport"),
        .testTarget(name: "NeuralNetTests", dependencies: ["NeuralNet", "TestSupport"]),
        .testTarget(name: "DermoscopyTests", dependencies: ["Dermoscopy", "NeuralNet"]),
        .testTarget(name: "TrainingTests", dependencies: ["Training", "Dermoscopy", "Inference", "Models", "NeuralNet", "TestSupport"]),
        .testTarget(name: "ServingTests", dependencies: [
            "Dermoscopy", "Serving", "Inference", "Models", "NeuralNet", .product(name: "Logging", package: "swift-log"),
        ]),
        .testTarget(name: "ModelsTests", dependencies: ["Dermoscopy", "Inference", "Interop", "Models", "NeuralNet", "TestSupport"],
                    exclude: ["Fixtures"]),
    ]
)
