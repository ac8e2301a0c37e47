// swift-tools-version:6.0
import PackageDescription

// Layers, bottom to top (docs/ARCHITECTURE.md draws them):
//   C system libraries (CMilter, CSQLite): module maps only, plus a shim where Swift
//     cannot call the C API directly.
//   Safe wrappers (MilterTransport, VigieStore): own the C handles; no C type is public.
//   Policy (VigieCore): pure Swift, no C, no I/O; time, groups and storage come in.
//   Configuration (VigieConfig): TOML with file:line:key errors, builds VigieCore values.
//   Composition (VigieDaemon, VigieControl) and the two executables.
let package = Package(
    name: "vigie",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "vigie", targets: ["vigie"]),
        .executable(name: "vigiectl", targets: ["vigiectl"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CMilter",
            pkgConfig: "milter",
            providers: [.apt(["libmilter-dev"])]
        ),
        .systemLibrary(
            name: "CSQLite",
            pkgConfig: "sqlite3",
            providers: [.apt(["libsqlite3-dev"])]
        ),
        .target(name: "VigieCore"),
        .target(name: "VigieConfig", dependencies: ["VigieCore"]),
        .target(name: "MilterTransport", dependencies: ["CMilter"]),
        .target(name: "VigieStore", dependencies: ["CSQLite", "VigieCore"]),
        .target(name: "VigieControl", dependencies: ["VigieCore"]),
        .target(
            name: "VigieDaemon",
            dependencies: [
                "VigieCore", "VigieConfig", "VigieStore", "VigieControl", "MilterTransport",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(name: "vigie", dependencies: ["VigieDaemon"]),
        .executableTarget(
            name: "vigiectl",
            dependencies: [
                "VigieControl", "VigieConfig", "VigieCore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .target(name: "VigieTestKit", dependencies: ["VigieControl"], path: "Tests/VigieTestKit"),
        .testTarget(name: "VigieCoreTests", dependencies: ["VigieCore"]),
        .testTarget(name: "VigieConfigTests", dependencies: ["VigieConfig", "VigieCore"]),
        .testTarget(name: "VigieStoreTests", dependencies: ["VigieStore", "VigieCore"]),
        .testTarget(
            name: "EndToEndTests",
            dependencies: ["VigieTestKit", "VigieControl", "VigieCore"]
        ),
    ]
)
