// swift-tools-version:6.0
import PackageDescription

// Layers, bottom to top (docs/ARCHITECTURE.md draws them):
//   C system libraries (CMilter, CSQLite): module maps only, plus a shim where Swift
//     cannot call the C API directly.
//   Safe wrappers (MilterTransport, VigieStore, VigieRedis): own the C handles; no C type is public.
//   Policy (VigieCore): pure Swift, no C, no I/O; time, groups and storage come in.
//   Configuration (VigieConfig): TOML with file:line:key errors, builds the values its
//     users take (VigieCore's, VigieAuth's, VigieDNS's).
//   Composition (VigieDaemon, VigieControl) and the two executables.
let package = Package(
    name: "vigie",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "vigie", targets: ["vigie"]),
        .executable(name: "vigiectl", targets: ["vigiectl"]),
        .executable(name: "vigie-demo", targets: ["vigie-demo"]),
        // The policy core as a library, for the benchmarks package (benchmarks/), which
        // measures it in a process of its own.
        .library(name: "VigieCore", targets: ["VigieCore"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.1.0"),
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
        .systemLibrary(
            name: "COpenSSL",
            pkgConfig: "libcrypto",
            providers: [.apt(["libssl-dev"])]
        ),
        .systemLibrary(
            name: "CSPF2",
            providers: [.apt(["libspf2-dev"])]
        ),
        .systemLibrary(
            name: "COpenDKIM",
            pkgConfig: "opendkim",
            providers: [.apt(["libopendkim-dev"])]
        ),
        // glibc's mallopt, for the daemon's malloc settings (VigieDaemon/MallocTuning).
        .systemLibrary(name: "CMalloc"),
        // The shared store for several Postfix hosts (issue 12): Debian's hiredis.
        .systemLibrary(
            name: "CHiredis",
            // No pkgConfig: hiredis.pc adds -D_FILE_OFFSET_BITS=64, which SwiftPM
            // refuses with a warning on every build; the shim includes
            // <hiredis/hiredis.h> and the module map links hiredis.
            providers: [.apt(["libhiredis-dev"])]
        ),
        // The SMTP reply as the policies mean it, shared by VigieCore (send limits) and
        // VigieAuth (inbound checks) without either needing the other.
        .target(name: "VigieReply"),
        // The stream sockets every server and client uses (control, SRS lookups, metrics).
        .target(name: "VigieSockets"),
        .target(name: "VigieCore", dependencies: ["VigieReply"]),
        // SRS (issue: forwarded mail): HMAC over libssl, the pure-Swift codec, and the
        // Postfix lookup services (tcp_table, socketmap).
        .target(name: "VigieCrypto", dependencies: ["COpenSSL"]),
        .target(name: "VigieSRS", dependencies: ["VigieCrypto"]),
        .target(name: "SRSLookup", dependencies: ["VigieSRS", "VigieCrypto", "VigieSockets", .product(name: "Logging", package: "swift-log")]),
        // SPF and DKIM (issue: inbound checks): the resolver, the two wrappers, and the
        // pure-Swift results, policy and Authentication-Results.
        .target(name: "VigieDNS", dependencies: ["VigieSockets"]),
        .target(name: "VigieSPF", dependencies: ["CSPF2", "VigieDNS", "VigieAuth"]),
        // Decoded DKIM public keys shared across messages, under libopendkim, which
        // decodes the key of every signature again (Sources/CDKIMKeyCache explains how).
        .target(name: "CDKIMKeyCache", linkerSettings: [.linkedLibrary("crypto")]),
        .target(name: "VigieDKIM", dependencies: ["COpenDKIM", "CDKIMKeyCache", "VigieDNS", "VigieAuth", "VigieCrypto"]),
        .target(name: "VigieAuth", dependencies: ["VigieReply"]),
        // DMARC (issue 11 item 4): record parser, organisational domain (Public Suffix
        // List), alignment, evaluation and action; pure Swift, DNS answers come in
        // through DMARCRecordSource (the daemon's glue asks VigieDNS).
        .target(name: "VigieDMARC", dependencies: ["VigieAuth", "VigieReply"]),
        // The configuration parses every value to the type its user takes, so it
        // knows the resolver's addresses, the inbound policy's actions (DMARC's too)
        // and the signing keys (read and checked by VigieCrypto).
        .target(name: "VigieConfig", dependencies: ["VigieCore", "VigieReply", "VigieAuth", "VigieDNS", "VigieDMARC", "VigieCrypto", "VigieSockets"]),
        .target(name: "MilterTransport", dependencies: ["CMilter", "VigieReply"]),
        .target(name: "VigieStore", dependencies: ["CSQLite", "VigieCore"]),
        // The shared StateStore and shared counting on Redis (issue 12), for several Postfix hosts.
        .target(name: "VigieRedis", dependencies: ["CHiredis", "VigieCore", "VigieSockets"]),
        .target(name: "VigieControl", dependencies: ["VigieCore", "VigieSockets"]),
        .target(
            name: "VigieDaemon",
            dependencies: [
                "VigieCore", "VigieReply", "VigieConfig", "VigieStore", "VigieRedis", "VigieControl", "MilterTransport", "SRSLookup", "VigieSRS", "CMalloc", "VigieSockets",
                // The inbound role (issue 4): SPF and DKIM checks.
                "VigieAuth", "VigieSPF", "VigieDKIM", "VigieDNS", "VigieDMARC",
                // The sign role (issue 11): DKIM signing keys.
                "VigieCrypto",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        .executableTarget(name: "vigie", dependencies: [
            "VigieDaemon", .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(
            name: "vigiectl",
            dependencies: [
                "VigieControl", "VigieConfig", "VigieCore", "VigieSRS",
                // `vigiectl backup` copies the state file itself (SQLite's online backup).
                "VigieStore",
                // `vigiectl store migrate --to redis` copies it into the Redis store.
                "VigieRedis",
                // `vigiectl check` runs the inbound checks itself (issue: inbound checks).
                "VigieAuth", "VigieSPF", "VigieDKIM", "VigieDNS", "VigieSockets",
                // `vigiectl dkim keygen|check` make and check signing keys.
                "VigieCrypto",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // The incident #005 replay new users run first (scripts/demo): a throw-away
        // Postfix on loopback, the real daemon, and a narration.
        .executableTarget(name: "vigie-demo", dependencies: ["VigieTestKit"]),
        .target(name: "VigieTestKit", dependencies: ["VigieControl", "VigieSockets"], path: "Tests/VigieTestKit"),
        .testTarget(name: "VigieCoreTests", dependencies: ["VigieCore", "VigieReply", "VigieTestKit"]),
        .testTarget(name: "MilterTransportTests", dependencies: ["MilterTransport", "VigieReply"]),
        .testTarget(name: "VigieControlTests", dependencies: ["VigieControl", "VigieCore"]),
        .testTarget(name: "VigieSocketsTests", dependencies: ["VigieSockets"]),
        // VigieCrypto and VigieDKIM: the shipped [dkim.sign] examples, loaded with real keys.
        .testTarget(name: "VigieConfigTests", dependencies: ["VigieConfig", "VigieCore", "VigieReply", "VigieAuth", "VigieDNS", "VigieDMARC",
                                                             "VigieCrypto", "VigieDKIM", "VigieTestKit"]),
        .testTarget(name: "VigieStoreTests", dependencies: ["VigieStore", "VigieCore"]),
        // Also the StateStore contract, run on both stores.
        .testTarget(name: "VigieRedisTests", dependencies: ["VigieRedis", "VigieStore", "VigieCore", "VigieSockets", "VigieTestKit"]),
        .testTarget(name: "VigieSRSTests", dependencies: ["VigieSRS", "SRSLookup", "VigieCrypto", "VigieSockets", "VigieTestKit"]),
        // DMARC: pure evaluation with injected answers, and the daemon's lookup glue
        // against nsd on loopback (fixtures/auth/zones/test.zone).
        .testTarget(name: "VigieDMARCTests", dependencies: ["VigieDMARC", "VigieAuth", "VigieDNS", "VigieSockets", "VigieDaemon", "VigieConfig", "VigieTestKit"]),
        .testTarget(name: "VigieAuthTests", dependencies: ["VigieAuth", "VigieSPF", "VigieDKIM", "VigieDNS", "VigieSockets", "VigieCrypto", "VigieTestKit", "COpenSSL"]),
        .testTarget(
            name: "EndToEndTests",
            dependencies: ["VigieTestKit", "VigieControl", "VigieCore", "VigieStore", "VigieSockets"]
        ),
    ]
)
