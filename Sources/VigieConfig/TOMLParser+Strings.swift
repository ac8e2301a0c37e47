/// The four TOML string forms. Each works on bytes and builds the result as UTF-8,
/// which `validateUTF8` has already checked, so decoding cannot fail.
extension TOMLParser {
    /// `"basic string"` with escapes, on one line.
    mutating func parseBasicString() throws(ConfigError) -> String {
        let startLine = line
        index += 1
        var buffer: [UInt8] = []
        while true {
            guard let byte = peek() else {
                throw error("unterminated string (opened at line \(startLine)): expected a closing '\"'")
            }
            switch byte {
            case .quote:
                index += 1
                return String(decoding: buffer, as: UTF8.self)
            case .backslash:
                try parseEscape(into: &buffer)
            case .lineFeed, .carriageReturn:
                throw error("unterminated string: a \"string\" must close on the line it opens; use \"\"\"triple quotes\"\"\" for several lines")
            default:
                if Self.isForbiddenControl(byte) {
                    throw error("control character \(Self.codePoint(byte)) must be written as an escape in a string")
                }
                buffer.append(byte)
                index += 1
            }
        }
    }

    /// `'literal string'`: no escapes, on one line.
    mutating func parseLiteralString() throws(ConfigError) -> String {
        let startLine = line
        index += 1
        let start = index
        while true {
            guard let byte = peek() else {
                throw error("unterminated string (opened at line \(startLine)): expected a closing \"'\"")
            }
            switch byte {
            case .apostrophe:
                let text = String(decoding: slice(start..<index), as: UTF8.self)
                index += 1
                return text
            case .lineFeed, .carriageReturn:
                throw error("unterminated string: a 'literal string' must close on the line it opens; use '''triple quotes''' for several lines")
            default:
                if Self.isForbiddenControl(byte) {
                    throw error("control character \(Self.codePoint(byte)) is not allowed in a literal string")
                }
                index += 1
            }
        }
    }

    /// `"""multi-line basic string"""`: a newline right after the opening quotes is
    /// dropped, `\` at the end of a line joins it to the next non-blank text, and up
    /// to two quotes may sit right before the closing three.
    mutating func parseMultiLineBasicString() throws(ConfigError) -> String {
        let startLine = line
        index += 3
        try skipNewlineAfterOpeningQuotes()
        var buffer: [UInt8] = []
        while true {
            guard let byte = peek() else {
                throw error("unterminated multi-line string (opened at line \(startLine)): expected '\"\"\"'")
            }
            switch byte {
            case .quote:
                if try closeMultiLine(quote: .quote, into: &buffer) { return String(decoding: buffer, as: UTF8.self) }
            case .backslash:
                if try skipLineEndingBackslash() { continue }
                try parseEscape(into: &buffer)
            case .lineFeed, .carriageReturn:
                try consumeNewline()
                buffer.append(.lineFeed)
            default:
                if Self.isForbiddenControl(byte) {
                    throw error("control character \(Self.codePoint(byte)) must be written as an escape in a string")
                }
                buffer.append(byte)
                index += 1
            }
        }
    }

    /// `'''multi-line literal string'''`: no escapes at all.
    mutating func parseMultiLineLiteralString() throws(ConfigError) -> String {
        let startLine = line
        index += 3
        try skipNewlineAfterOpeningQuotes()
        var buffer: [UInt8] = []
        while true {
            guard let byte = peek() else {
                throw error("unterminated multi-line string (opened at line \(startLine)): expected \"'''\"")
            }
            switch byte {
            case .apostrophe:
                if try closeMultiLine(quote: .apostrophe, into: &buffer) { return String(decoding: buffer, as: UTF8.self) }
            case .lineFeed, .carriageReturn:
                try consumeNewline()
                buffer.append(.lineFeed)
            default:
                if Self.isForbiddenControl(byte) {
                    throw error("control character \(Self.codePoint(byte)) is not allowed in a literal string")
                }
                buffer.append(byte)
                index += 1
            }
        }
    }

    private mutating func skipNewlineAfterOpeningQuotes() throws(ConfigError) {
        if peek() == .lineFeed || peek() == .carriageReturn { try consumeNewline() }
    }

    /// At a run of quotes inside a multi-line string: three or more close it (the
    /// extra one or two belong to the content), fewer are content.
    private mutating func closeMultiLine(quote: UInt8, into buffer: inout [UInt8]) throws(ConfigError) -> Bool {
        var run = 0
        while peek(run) == quote { run += 1 }
        if run < 3 {
            buffer.append(contentsOf: repeatElement(quote, count: run))
            index += run
            return false
        }
        if run > 5 {
            throw error("too many quotes in a row at the end of a multi-line string")
        }
        buffer.append(contentsOf: repeatElement(quote, count: run - 3))
        index += run
        return true
    }

    /// `\` followed by optional blanks and a newline: skips to the next non-blank
    /// character. Returns false (consuming nothing) for an ordinary escape.
    private mutating func skipLineEndingBackslash() throws(ConfigError) -> Bool {
        var probe = 1
        while let next = peek(probe), next == .space || next == .tab { probe += 1 }
        guard let next = peek(probe), next == .lineFeed || next == .carriageReturn else { return false }
        index += probe
        while true {
            switch peek() {
            case .space, .tab: index += 1
            case .lineFeed, .carriageReturn: try consumeNewline()
            default: return true
            }
        }
    }

    /// At a backslash: appends the escaped character's UTF-8.
    private mutating func parseEscape(into buffer: inout [UInt8]) throws(ConfigError) {
        guard let code = peek(1) else {
            throw error("unterminated string: a backslash ends the file")
        }
        index += 2
        switch code {
        case UInt8(ascii: "b"): buffer.append(0x08)
        case UInt8(ascii: "t"): buffer.append(.tab)
        case UInt8(ascii: "n"): buffer.append(.lineFeed)
        case UInt8(ascii: "f"): buffer.append(0x0C)
        case UInt8(ascii: "r"): buffer.append(.carriageReturn)
        case .quote: buffer.append(.quote)
        case .backslash: buffer.append(.backslash)
        case UInt8(ascii: "u"): try appendUnicodeEscape(digits: 4, into: &buffer)
        case UInt8(ascii: "U"): try appendUnicodeEscape(digits: 8, into: &buffer)
        default:
            let shown = (0x21...0x7E).contains(code) ? "\\" + String(UnicodeScalar(code)) : "after a backslash"
            throw error("unknown escape \(shown) in a string; the escapes are \\n \\t \\\" \\\\ \\b \\f \\r \\uXXXX and \\UXXXXXXXX (write \\\\ for a backslash)")
        }
    }

    private mutating func appendUnicodeEscape(digits: Int, into buffer: inout [UInt8]) throws(ConfigError) {
        var value: UInt32 = 0
        for offset in 0..<digits {
            guard let byte = peek(offset), let digit = Self.hexValue(byte) else {
                throw error("expected \(digits) hexadecimal digits after \\\(digits == 4 ? "u" : "U")")
            }
            value = value << 4 | UInt32(digit)
        }
        index += digits
        guard let scalar = Unicode.Scalar(value) else {
            throw error("\\\(digits == 4 ? "u" : "U")\(String(value, radix: 16, uppercase: true)) is not a Unicode scalar value")
        }
        buffer.append(contentsOf: String(scalar).utf8)
    }

    static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
