/// A parsed TOML file.
///
/// Supports TOML 1.0 except dates and times (refused with an error saying so):
/// comments, bare, quoted and dotted keys, `[table]`, `[[array.of.tables]]`, the four
/// string forms with escapes, integers (decimal with `_`, hex, octal, binary),
/// floats (with `inf` and `nan`), booleans, arrays and inline tables.
///
/// Diagnostics: every syntax error is a `ConfigError` with the file, the line and
/// what was expected there. Redefining a key or a table is an error, as TOML says.
/// Security: the input may be any bytes (a conf.d file written by mistake, a
/// truncated copy): the parser never traps, needs time linear in the input, and
/// refuses nesting deeper than `TOMLParser.maximumDepth` rather than overflowing
/// the stack.
public struct TOMLDocument: Sendable, Equatable {
    /// The file name errors and locations carry.
    public var file: String
    /// The top-level table.
    public var root: TOMLTable

    /// Parses `text`, naming `file` in locations and errors.
    public init(parsing text: String, file: String) throws(ConfigError) {
        self.file = file
        self.root = try TOMLParser.parse(Array(text.utf8), file: file)
    }

    /// Parses raw bytes, which must be UTF-8 (an optional byte order mark is skipped).
    public init(parsing bytes: some Sequence<UInt8>, file: String) throws(ConfigError) {
        self.file = file
        self.root = try TOMLParser.parse(Array(bytes), file: file)
    }
}

/// Writing key paths the way TOML reads them, for messages.
public enum TOMLKeyPath {
    /// `limits.messages.per_hour`, with parts quoted where a bare key could not
    /// spell them: `accounts."jean.dupont".per_day`.
    /// A part `key[N]` names the Nth table of an array of tables (`[[dkim.sign.key]]`)
    /// and is written so: `dkim.sign.key[2].file`.
    public static func join(_ parts: [String]) -> String {
        parts.map { isArrayElement($0) ? $0 : quotedIfNeeded($0) }.joined(separator: ".")
    }

    /// `key[N]`: a bare key, then a decimal position in brackets.
    static func isArrayElement(_ part: String) -> Bool {
        guard part.hasSuffix("]"), let open = part.firstIndex(of: "[") else { return false }
        let name = part[..<open], digits = part[part.index(after: open)..<part.index(before: part.endIndex)]
        return !name.isEmpty && name.utf8.allSatisfy(TOMLParser.isBareKeyByte) && !digits.isEmpty && digits.allSatisfy(\.isASCII) && digits.allSatisfy(\.isNumber)
    }

    /// A key as it would be written in TOML.
    public static func quotedIfNeeded(_ key: String) -> String {
        if !key.isEmpty, key.utf8.allSatisfy(TOMLParser.isBareKeyByte) { return key }
        var quoted = "\""
        for scalar in key.unicodeScalars {
            switch scalar {
            case "\"": quoted += "\\\""
            case "\\": quoted += "\\\\"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F {
                    quoted += "\\u" + String(scalar.value, radix: 16, uppercase: true).leftPadded(to: 4)
                } else {
                    quoted.unicodeScalars.append(scalar)
                }
            }
        }
        return quoted + "\""
    }
}
