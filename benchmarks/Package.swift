// swift-tools-version: 6.1
import PackageDescription

// Vigie's benchmarks: a package of their own so that CI (which builds and tests the
// root package) never builds nor runs them. `benchmarks/run` is the entry point.
//
// The policy core comes from the root package's `VigieCore` library product (path
// dependency `..`, named so that the worktree's directory name does not matter).
// The `vigie` daemon itself is built by `benchmarks/run` from the root package
// (release, its own scratch path) and driven over its milter socket.
let vigieCore: Target.Dependency = .product(name: "VigieCore", package: "vigie")

let package = Package(
    name: "vigie-benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "vigie", path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        // Fakes for the policy's dependencies (copied from Tests/VigieCoreTests/Support).
        .target(name: "BenchSupport", dependencies: [vigieCore]),
        .executableTarget(
            name: "PolicyBenchmarks",
            dependencies: [
                vigieCore, "BenchSupport",
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/PolicyBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        // Resident memory per tracked account (a plain process: RSS must not include a harness).
        .executableTarget(name: "PolicyMemory", dependencies: [vigieCore, "BenchSupport"]),
        // The suspicion score's cost on the hot path (issue 10): detection off vs on, interleaved.
        .executableTarget(name: "DetectionCost", dependencies: [vigieCore, "BenchSupport"]),
        // Milter protocol v6 load generator (speaks to any milter over unix or TCP).
        // Swift 5 mode: plain threads over blocking sockets, with globals read-only once started.
        .executableTarget(name: "MilterLoad", dependencies: ["LoadSupport"], swiftSettings: [.swiftLanguageMode(.v5)]),
        // Command line and socket writing shared by the two load generators.
        .target(name: "LoadSupport"),
        // SMTP load generator sending one given file (smtp-source cannot): the inbound
        // end-to-end benchmark's DKIM-signed message. Same threading model as MilterLoad.
        .executableTarget(name: "SMTPLoad", dependencies: ["LoadSupport"], swiftSettings: [.swiftLanguageMode(.v5)]),
    ]
)
