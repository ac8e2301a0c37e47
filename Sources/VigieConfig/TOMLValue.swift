/// One TOML value and where it was written.
///
/// Dates and times are not represented: Vigie's configuration has none, and the
/// parser refuses them with an error that says so.
public struct TOMLValue: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        case string(String)
        case integer(Int)
        case float(Double)
        case boolean(Bool)
        /// A static array (`[1, 2]`) or an array of tables (`[[name]]`).
        case array([TOMLValue])
        /// A `[table]`, a table made by dotted keys, or an inline `{ table }`.
        case table(TOMLTable)
    }

    public var kind: Kind
    /// Where the value starts: its first line for a multi-line string or array, the
    /// header line for a `[table]`, the first dotted key for a dotted table.
    public var location: TOMLLocation

    public init(_ kind: Kind, at location: TOMLLocation) {
        self.kind = kind
        self.location = location
    }

    public var line: Int { location.line }

    public var string: String? {
        if case .string(let value) = kind { return value }
        return nil
    }

    public var integer: Int? {
        if case .integer(let value) = kind { return value }
        return nil
    }

    public var float: Double? {
        if case .float(let value) = kind { return value }
        return nil
    }

    public var boolean: Bool? {
        if case .boolean(let value) = kind { return value }
        return nil
    }

    public var array: [TOMLValue]? {
        if case .array(let value) = kind { return value }
        return nil
    }

    public var table: TOMLTable? {
        if case .table(let value) = kind { return value }
        return nil
    }

    /// What an error message shows after "got": the value itself for scalars (a
    /// string quoted and shortened), the type for arrays and tables.
    public var summary: String {
        switch kind {
        case .string(let value): return Self.quote(value)
        case .integer(let value): return String(value)
        case .float(let value): return value.isNaN ? "nan" : value.isInfinite ? (value < 0 ? "-inf" : "inf") : String(value)
        case .boolean(let value): return String(value)
        case .array: return "an array"
        case .table: return "a table"
        }
    }
}

extension TOMLValue {
    /// A string as a message shows it: in quotes, escaped, cut at 60 characters.
    public static func quote(_ value: String) -> String {
        var shown = ""
        for scalar in value.unicodeScalars.prefix(60) {
            switch scalar {
            case "\"": shown += "\\\""
            case "\\": shown += "\\\\"
            case "\n": shown += "\\n"
            case "\t": shown += "\\t"
            default:
                if scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) {
                    shown += "\\u" + String(scalar.value, radix: 16, uppercase: true).leftPadded(to: 4)
                } else {
                    shown.unicodeScalars.append(scalar)
                }
            }
        }
        return "\"" + shown + (value.unicodeScalars.count > 60 ? "…" : "") + "\""
    }
}

extension String {
    func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
