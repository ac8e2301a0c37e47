@testable import VigieConfig

/// The TOML parser (Sources/VigieConfig/TOMLParser*.swift): conf.d files are
/// written by hand, copied, truncated.
///
/// Properties: any bytes parse or fail with a `ConfigError` naming a line inside the
/// file; a parsed document, printed again as TOML (the printer below, inline
/// tables and arrays only), parses to the same values and keys in the same order;
/// key paths printed by `TOMLKeyPath.quotedIfNeeded` parse back as the same key.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTOMLRoundTrip(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let document: TOMLDocument
    do {
        document = try TOMLDocument(parsing: bytes, file: "fuzz.toml")
    } catch {
        let lines = bytes.count { $0 == 0x0A } + 1
        if let line = error.line { require(line >= 1 && line <= lines, "error at line \(line) of \(lines): \(error)") }
        return 0
    }
    // `[a.b.c]` headers and dotted keys nest tables without the parser's inline
    // nesting limit (each path has its own cap of 32 parts), so a valid document can
    // be deeper than the printer's all-inline form may be. Those are not printable
    // this way; every shallower one must round-trip.
    guard TOMLPrinter.depth(document.root) <= TOMLParser.maximumDepth else { return 0 }
    let printed = TOMLPrinter.document(document.root)
    let reparsed: TOMLDocument
    do {
        reparsed = try TOMLDocument(parsing: printed, file: "printed.toml")
    } catch {
        fatalError("printed TOML does not parse: \(error)\n\(printed)")
    }
    require(TOMLPrinter.same(document.root, reparsed.root), "round trip changed the values:\n\(printed)")
    return 0
}

/// Prints a table as TOML, every nested table inline, every string a basic string.
enum TOMLPrinter {
    static func document(_ root: TOMLTable) -> String {
        root.entries.map { "\(TOMLKeyPath.quotedIfNeeded($0.key)) = \(value($0.value))\n" }.joined()
    }

    static func value(_ value: TOMLValue) -> String {
        switch value.kind {
        case .string(let s): return string(s)
        case .integer(let i): return String(i)
        case .float(let f):
            if f.isNaN { return "nan" }
            if f.isInfinite { return f < 0 ? "-inf" : "inf" }
            let text = "\(f)"
            return text.contains(where: { $0 == "." || $0 == "e" }) ? text : text + ".0"
        case .boolean(let b): return b ? "true" : "false"
        case .array(let items): return "[" + items.map(self.value).joined(separator: ", ") + "]"
        case .table(let table):
            return "{" + table.entries.map { "\(TOMLKeyPath.quotedIfNeeded($0.key)) = \(self.value($0.value))" }.joined(separator: ", ") + "}"
        }
    }

    static func string(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F {
                    out += "\\u" + String(scalar.value, radix: 16).leftPadded(to: 4)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }

    /// How deep the inline form of `table`'s values nests arrays and tables.
    static func depth(_ table: TOMLTable) -> Int {
        table.entries.map { depth($0.value) }.max() ?? 0
    }

    static func depth(_ value: TOMLValue) -> Int {
        switch value.kind {
        case .array(let items): return 1 + (items.map(depth).max() ?? 0)
        case .table(let table): return 1 + depth(table)
        default: return 0
        }
    }

    /// Equal values, ignoring where they were written (NaN equals NaN; 0.0 and -0.0 differ).
    static func same(_ a: TOMLTable, _ b: TOMLTable) -> Bool {
        a.keys == b.keys && zip(a.entries, b.entries).allSatisfy { same($0.value, $1.value) }
    }

    static func same(_ a: TOMLValue, _ b: TOMLValue) -> Bool {
        switch (a.kind, b.kind) {
        case (.string(let x), .string(let y)): return x.unicodeScalars.elementsEqual(y.unicodeScalars)
        case (.integer(let x), .integer(let y)): return x == y
        case (.float(let x), .float(let y)): return x.isNaN ? y.isNaN : x.bitPattern == y.bitPattern
        case (.boolean(let x), .boolean(let y)): return x == y
        case (.array(let x), .array(let y)): return x.count == y.count && zip(x, y).allSatisfy { same($0, $1) }
        case (.table(let x), .table(let y)): return same(x, y)
        default: return false
        }
    }
}
