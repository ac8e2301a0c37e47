import VigieCore
@testable import VigieConfig

/// conf.d merging and the configuration schema (Sources/VigieConfig/TOMLTable.swift,
/// VigieConfiguration.swift): the input is two files, split at the first NUL byte,
/// laid one over the other as `ConfigLoader` lays `conf.d/*.toml` over vigie.toml.
///
/// Properties:
/// - the merge holds every key of both files and no other, the main file's keys
///   first in their order;
/// - where both sides hold a table they merge, key by key; anywhere else the
///   overlay's value wins whole; keys only in the main file keep its value;
/// - merging is idempotent (laying the same conf.d file twice changes nothing) and
///   an empty overlay changes nothing;
/// - building the configuration from the merge gives a value or a `ConfigError`
///   that names a file the input came from.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzConfigMerge(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    var input = FuzzInput(data, size)
    let mainText = input.field()
    let overlayText = input.rest()
    guard let main = try? TOMLDocument(parsing: mainText, file: "/fuzz/vigie.toml"),
          let overlay = try? TOMLDocument(parsing: overlayText, file: "/fuzz/conf.d/50-local.toml") else { return 0 }
    let merged = main.root.merging(overlay.root)
    checkMerge(main.root, overlay.root, merged, path: [])
    require(identical(merged.merging(overlay.root), merged), "merging twice differs from merging once")
    require(identical(main.root.merging(TOMLTable()), main.root), "an empty overlay changed the table")

    do {
        // The notices directory does not exist: a configuration that gets that far
        // fails there, after every other section was checked.
        _ = try VigieConfiguration(table: merged, mainFile: "/nonexistent-fuzz/vigie.toml", sources: [main.file, overlay.file])
    } catch {
        require(error.file.hasPrefix("/fuzz/") || error.file.hasPrefix("/nonexistent-fuzz/"), "error names \(error.file)")
    }
    return 0
}

private func checkMerge(_ base: TOMLTable, _ overlay: TOMLTable, _ merged: TOMLTable, path: [String]) {
    let expectedKeys = base.keys + overlay.keys.filter { base[$0] == nil }
    require(merged.keys == expectedKeys, "keys at \(path): \(merged.keys) instead of \(expectedKeys)")
    for key in expectedKeys {
        let here = path + [key]
        switch (base[key]?.kind, overlay[key]?.kind) {
        case (.table(let b)?, .table(let o)?):
            guard case .table(let m)? = merged[key]?.kind else { fatalError("\(here) is no longer a table") }
            checkMerge(b, o, m, path: here)
        case (_, .some):
            require(identical(merged.entry(key)!, overlay.entry(key)!), "\(here): the overlay's value did not win")
        case (.some, nil):
            require(identical(merged.entry(key)!, base.entry(key)!), "\(here): the main file's value changed")
        case (nil, nil):
            fatalError("\(here) came from nowhere")
        }
    }
}

/// `==` with NaN equal to itself (`nan` is a valid TOML value, and Double's `==`
/// would call an unchanged entry changed); locations are compared too.
private func identical(_ a: TOMLTable, _ b: TOMLTable) -> Bool {
    a.keys == b.keys && zip(a.entries, b.entries).allSatisfy(identical)
}

private func identical(_ a: TOMLTable.Entry, _ b: TOMLTable.Entry) -> Bool {
    a.key == b.key && a.keyLocation == b.keyLocation && identical(a.value, b.value)
}

private func identical(_ a: TOMLValue, _ b: TOMLValue) -> Bool {
    guard a.location == b.location else { return false }
    switch (a.kind, b.kind) {
    case (.float(let x), .float(let y)): return x.isNaN ? y.isNaN : x.bitPattern == y.bitPattern
    case (.array(let x), .array(let y)): return x.count == y.count && zip(x, y).allSatisfy(identical)
    case (.table(let x), .table(let y)): return identical(x, y)
    default: return a.kind == b.kind
    }
}
