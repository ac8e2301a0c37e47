/// The TOML reader behind `TOMLDocument`: one pass over the bytes, building a tree
/// of `TOMLTableBuilder`s that remember how each table was defined (the TOML rules on
/// redefinition depend on it), then frozen into `TOMLTable` values.
///
/// Every loop consumes at least one byte or throws, and recursion (arrays, inline
/// tables) is bounded by `maximumDepth`: arbitrary input ends in a value or an error,
/// never a trap, a hang or a stack overflow.
struct TOMLParser {
    /// Deepest nesting of arrays and inline tables, and most parts in one dotted key.
    /// Vigie's own files need 3 and 4; the bound only keeps hostile input off the stack.
    static let maximumDepth = 32

    /// The input, borrowed for the parse. Read only through `peek`, `matches` and
    /// `slice`, which check bounds: a raw pointer because array indexing in a debug
    /// build costs more than the rest of the parser together, and the fuzz tests
    /// run in debug builds.
    let base: UnsafePointer<UInt8>
    let count: Int
    let file: String
    var index = 0
    var line = 1
    var depth = 0

    /// Parses `bytes` as a TOML document.
    static func parse(_ bytes: [UInt8], file: String) throws(ConfigError) -> TOMLTable {
        var result: Result<TOMLTable, ConfigError> = .success(TOMLTable())
        bytes.withUnsafeBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return }  // empty input: empty document
            var parser = TOMLParser(base: base, count: buffer.count, file: file)
            result = Result { () throws(ConfigError) in try parser.parseDocument() }
        }
        return try result.get()
    }

    private init(base: UnsafePointer<UInt8>, count: Int, file: String) {
        self.base = base
        self.count = count
        self.file = file
        if matches("\u{FEFF}") { index = 3 }  // UTF-8 byte order mark
    }

    // MARK: Document

    mutating func parseDocument() throws(ConfigError) -> TOMLTable {
        try validateUTF8()
        let root = TOMLTableBuilder(origin: .root, location: location())
        var section = root
        var sectionPath: [String] = []
        while true {
            skipWhitespace()
            guard let byte = peek() else { break }
            switch byte {
            case .hash, .lineFeed, .carriageReturn:
                try endOfLine(after: "")
            case .openBracket:
                (section, sectionPath) = try parseHeader(root: root)
                try endOfLine(after: "the table header")
            default:
                try parseKeyValue(into: section, sectionPath: sectionPath)
                try endOfLine(after: "the value")
            }
        }
        return root.frozen()
    }

    /// Whitespace, an optional comment, then a newline or the end of the file.
    mutating func endOfLine(after what: String) throws(ConfigError) {
        skipWhitespace()
        if peek() == .hash { try skipComment() }
        guard let byte = peek() else { return }
        if byte == .lineFeed || byte == .carriageReturn {
            try consumeNewline()
            return
        }
        let context = what.isEmpty ? "" : " after \(what)"
        throw error("expected the end of the line\(context), found \(describeHere())")
    }

    // MARK: Tables

    mutating func parseHeader(root: TOMLTableBuilder) throws(ConfigError) -> (TOMLTableBuilder, [String]) {
        let headerLocation = location()
        index += 1
        let isArray = peek() == .openBracket
        if isArray { index += 1 }
        skipWhitespace()
        let keys = try parseKey()
        skipWhitespace()
        let closing = isArray ? "]]" : "]"
        guard peek() == .closeBracket, !isArray || peek(1) == .closeBracket else {
            throw error("expected '\(closing)' to close the \(isArray ? "array-of-tables" : "table") header, found \(describeHere())")
        }
        index += isArray ? 2 : 1
        let table = isArray
            ? try appendArrayElement(root: root, path: keys, at: headerLocation)
            : try defineTable(root: root, path: keys, at: headerLocation)
        return (table, keys)
    }

    /// `[a.b.c]`: walks to `a.b` (creating implicit tables), then defines `c`.
    func defineTable(root: TOMLTableBuilder, path: [String], at location: TOMLLocation) throws(ConfigError) -> TOMLTableBuilder {
        let parent = try walkForHeader(root: root, path: path, at: location)
        let key = path[path.count - 1]
        let name = TOMLKeyPath.join(path)
        guard let item = parent.items[key] else {
            let table = TOMLTableBuilder(origin: .header, location: location)
            parent.insert(key, at: location, .table(table))
            return table
        }
        switch item.slot {
        case .table(let existing):
            switch existing.origin {
            case .implicit:
                // Made on the way to a sub-table (`[a.b]` before `[a]`): defining it now is allowed, once.
                existing.origin = .header
                existing.location = location
                parent.items[key]?.keyLocation = location
                return existing
            case .dotted:
                throw error("table \(name) was already made by dotted keys at line \(existing.location.line); a [header] cannot reopen it",
                            at: location, key: name)
            default:
                throw error("table [\(name)] is defined twice (first at line \(existing.location.line))", at: location, key: name)
            }
        case .tableArray(let array):
            throw error("\(name) is an array of tables ([[\(name)]] at line \(array.location.line)), not a plain table", at: location, key: name)
        case .value(let value):
            throw error("\(name) already holds a value (line \(value.line)); it cannot also be a [table]", at: location, key: name)
        }
    }

    /// `[[a.b.c]]`: walks to `a.b`, then appends a new table to the array `c`.
    func appendArrayElement(root: TOMLTableBuilder, path: [String], at location: TOMLLocation) throws(ConfigError) -> TOMLTableBuilder {
        let parent = try walkForHeader(root: root, path: path, at: location)
        let key = path[path.count - 1]
        let name = TOMLKeyPath.join(path)
        let element = TOMLTableBuilder(origin: .arrayElement, location: location)
        guard let item = parent.items[key] else {
            parent.insert(key, at: location, .tableArray(TOMLTableBuilder.TableArray(first: element, at: location)))
            return element
        }
        switch item.slot {
        case .tableArray(let array):
            array.elements.append(element)
            return element
        case .table(let existing):
            throw error("\(name) is already a table (line \(existing.location.line)); [[\(name)]] needs an array of tables",
                        at: location, key: name)
        case .value(let value):
            throw error("\(name) already holds a value (line \(value.line)); [[\(name)]] cannot extend it", at: location, key: name)
        }
    }

    /// The table that will hold the last key of a header path.
    private func walkForHeader(root: TOMLTableBuilder, path: [String], at location: TOMLLocation) throws(ConfigError) -> TOMLTableBuilder {
        var table = root
        for position in 0..<(path.count - 1) {
            let key = path[position]
            guard let item = table.items[key] else {
                let implicit = TOMLTableBuilder(origin: .implicit, location: location)
                table.insert(key, at: location, .table(implicit))
                table = implicit
                continue
            }
            switch item.slot {
            case .table(let next):
                table = next
            case .tableArray(let array):
                table = array.elements[array.elements.count - 1]  // never empty: made with one element
            case .value(let value):
                let name = TOMLKeyPath.join(Array(path[...position]))
                let what = value.table != nil ? "an inline table, which cannot be extended" : "a value"
                throw error("\(name) already holds \(what) (line \(value.line))", at: location, key: name)
            }
        }
        return table
    }

    // MARK: Keys and values

    mutating func parseKeyValue(into section: TOMLTableBuilder, sectionPath: [String]) throws(ConfigError) {
        let keyLocation = location()
        let keys = try parseKey()
        skipWhitespace()
        guard peek() == .equals else {
            throw error("expected '=' after the key \(TOMLKeyPath.join(keys)), found \(describeHere())")
        }
        index += 1
        skipWhitespace()
        let value = try parseValue()
        try insert(value, keys: keys, into: section, sectionPath: sectionPath, at: keyLocation)
    }

    /// `a.b.c = value` inside `section`: `a` and `b` may be missing (they become
    /// tables defined by dotted keys) or tables already made by dotted keys; TOML
    /// forbids reaching into a table defined any other way.
    func insert(_ value: TOMLValue, keys: [String], into section: TOMLTableBuilder, sectionPath: [String], at location: TOMLLocation) throws(ConfigError) {
        var table = section
        for position in 0..<(keys.count - 1) {
            let key = keys[position]
            var name: String { TOMLKeyPath.join(sectionPath + keys[...position]) }  // only for errors
            guard let item = table.items[key] else {
                let dotted = TOMLTableBuilder(origin: .dotted, location: location)
                table.insert(key, at: location, .table(dotted))
                table = dotted
                continue
            }
            switch item.slot {
            case .table(let next) where next.origin == .dotted:
                table = next
            case .table(let next):
                throw error("table \(name) is defined by a [header] (line \(next.location.line)); dotted keys cannot add to it, write the key under that header",
                            at: location, key: name)
            case .tableArray(let array):
                throw error("\(name) is an array of tables (line \(array.location.line)); dotted keys cannot reach into it", at: location, key: name)
            case .value(let existing):
                let what = existing.table != nil ? "an inline table, which cannot be extended" : "a value"
                throw error("\(name) already holds \(what) (line \(existing.line))", at: location, key: name)
            }
        }
        let key = keys[keys.count - 1]
        if let item = table.items[key] {
            throw error("duplicate key: already defined at line \(item.keyLocation.line)", at: location,
                        key: TOMLKeyPath.join(sectionPath + keys))
        }
        table.insert(key, at: location, .value(value))
    }

    /// A key, possibly dotted: `name`, `"quoted name"`, `'literal'`, `a . b."c"`.
    mutating func parseKey() throws(ConfigError) -> [String] {
        var parts = [try parseSimpleKey()]
        while true {
            let save = index
            skipWhitespace()
            guard peek() == .dot else {
                index = save
                return parts
            }
            index += 1
            skipWhitespace()
            parts.append(try parseSimpleKey())
            if parts.count > Self.maximumDepth {
                throw error("key has more than \(Self.maximumDepth) dotted parts")
            }
        }
    }

    mutating func parseSimpleKey() throws(ConfigError) -> String {
        switch peek() {
        case .quote:
            if peek(1) == .quote, peek(2) == .quote {
                throw error("a multi-line string cannot be a key")
            }
            return try parseBasicString()
        case .apostrophe:
            if peek(1) == .apostrophe, peek(2) == .apostrophe {
                throw error("a multi-line string cannot be a key")
            }
            return try parseLiteralString()
        default:
            let start = index
            while let byte = peek(), Self.isBareKeyByte(byte) { index += 1 }
            guard index > start else {
                throw error("expected a key (letters, digits, '_' and '-', or a \"quoted key\"), found \(describeHere())")
            }
            return String(decoding: slice(start..<index), as: UTF8.self)
        }
    }

    static func isBareKeyByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "-"):
            true
        default:
            false
        }
    }

    mutating func parseValue() throws(ConfigError) -> TOMLValue {
        let start = location()
        guard let byte = peek() else {
            throw error("expected a value, found the end of the file")
        }
        switch byte {
        case .quote:
            if peek(1) == .quote, peek(2) == .quote {
                return TOMLValue(.string(try parseMultiLineBasicString()), at: start)
            }
            return TOMLValue(.string(try parseBasicString()), at: start)
        case .apostrophe:
            if peek(1) == .apostrophe, peek(2) == .apostrophe {
                return TOMLValue(.string(try parseMultiLineLiteralString()), at: start)
            }
            return TOMLValue(.string(try parseLiteralString()), at: start)
        case .openBracket:
            return try parseArray()
        case .openBrace:
            return try parseInlineTable()
        case UInt8(ascii: "t"), UInt8(ascii: "f"):
            for (word, value) in [("true", true), ("false", false)] where matches(word) {
                let after = peek(word.utf8.count)
                if after == nil || !Self.isBareKeyByte(after!) {
                    index += word.utf8.count
                    return TOMLValue(.boolean(value), at: start)
                }
            }
            throw expectedValue()
        case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "+"), UInt8(ascii: "-"),
             UInt8(ascii: "i"), UInt8(ascii: "n"):
            return try parseNumber()
        default:
            throw expectedValue()
        }
    }

    func expectedValue() -> ConfigError {
        var hint = ""
        if let byte = byte(at: index), (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || byte == UInt8(ascii: "/") {
            hint = " (text must be in quotes: \"like this\")"
        }
        return error("expected a value (a \"string\", a number, true, false, an [array] or an {inline table}), found \(describeHere())\(hint)")
    }

    mutating func parseArray() throws(ConfigError) -> TOMLValue {
        let start = location()
        index += 1
        try enterNesting()
        defer { depth -= 1 }
        var elements: [TOMLValue] = []
        while true {
            try skipWhitespaceCommentsAndNewlines()
            if peek() == .closeBracket {
                index += 1
                break
            }
            elements.append(try parseValue())
            try skipWhitespaceCommentsAndNewlines()
            switch peek() {
            case .comma:
                index += 1
            case .closeBracket:
                index += 1
                return TOMLValue(.array(elements), at: start)
            default:
                throw error("expected ',' or ']' in the array opened at line \(start.line), found \(describeHere())")
            }
        }
        return TOMLValue(.array(elements), at: start)
    }

    /// `{ a = 1, b.c = 2 }`: on one line (values such as arrays may span lines), no
    /// trailing comma, and closed for good once parsed (TOML 1.0).
    mutating func parseInlineTable() throws(ConfigError) -> TOMLValue {
        let start = location()
        index += 1
        try enterNesting()
        defer { depth -= 1 }
        let table = TOMLTableBuilder(origin: .inline, location: start)
        skipWhitespace()
        if peek() == .closeBrace {
            index += 1
            return TOMLValue(.table(table.frozen()), at: start)
        }
        while true {
            skipWhitespace()
            if peek() == .closeBrace {
                throw error("a trailing comma is not allowed in an inline table")
            }
            if peek() == .lineFeed || peek() == .carriageReturn {
                throw error("an inline table { ... } must close on the line it opens (line \(start.line)); use a [table] section for longer ones")
            }
            let keyLocation = location()
            let keys = try parseKey()
            skipWhitespace()
            guard peek() == .equals else {
                throw error("expected '=' after the key \(TOMLKeyPath.join(keys)), found \(describeHere())")
            }
            index += 1
            skipWhitespace()
            let value = try parseValue()
            try insert(value, keys: keys, into: table, sectionPath: [], at: keyLocation)
            skipWhitespace()
            switch peek() {
            case .comma:
                index += 1
            case .closeBrace:
                index += 1
                return TOMLValue(.table(table.frozen()), at: start)
            case .lineFeed, .carriageReturn:
                throw error("an inline table { ... } must close on the line it opens (line \(start.line)); use a [table] section for longer ones")
            default:
                throw error("expected ',' or '}' in the inline table opened at line \(start.line), found \(describeHere())")
            }
        }
    }

    mutating func enterNesting() throws(ConfigError) {
        depth += 1
        if depth > Self.maximumDepth {
            throw error("arrays and inline tables are nested more than \(Self.maximumDepth) deep")
        }
    }

    // MARK: Whitespace, comments, newlines

    mutating func skipWhitespace() {
        while index < count, base[index] == 0x20 || base[index] == 0x09 { index += 1 }  // space, tab
    }

    /// From a '#' to the end of the line (not consuming the newline).
    mutating func skipComment() throws(ConfigError) {
        // A plain pointer loop: comments are most of Vigie's files, and this is the
        // one place where per-byte call overhead shows in debug builds.
        // (Literal bytes rather than the named constants, whose accessors are calls.)
        var position = index + 1
        while position < count {
            let byte = base[position]
            if byte == 0x0A || (byte == 0x0D && position + 1 < count && base[position + 1] == 0x0A) { break }  // LF, CR LF
            if (byte < 0x20 && byte != 0x09) || byte == 0x7F {  // controls but tab, DEL
                index = position
                throw error("control character \(Self.codePoint(byte)) is not allowed in a comment")
            }
            position += 1
        }
        index = position
    }

    mutating func consumeNewline() throws(ConfigError) {
        if peek() == .carriageReturn {
            guard peek(1) == .lineFeed else {
                throw error("a carriage return must be followed by a line feed")
            }
            index += 1
        }
        index += 1
        line += 1
    }

    mutating func skipWhitespaceCommentsAndNewlines() throws(ConfigError) {
        while true {
            skipWhitespace()
            switch peek() {
            case .hash: try skipComment()
            case .lineFeed, .carriageReturn: try consumeNewline()
            default: return
            }
        }
    }

    /// Control characters TOML forbids in comments and strings (tab is allowed).
    static func isForbiddenControl(_ byte: UInt8) -> Bool {
        (byte < 0x20 && byte != .tab) || byte == 0x7F
    }

    static func codePoint(_ byte: UInt8) -> String {
        "U+" + String(byte, radix: 16, uppercase: true).leftPadded(to: 4)
    }

    // MARK: Positions and errors

    /// The byte `offset` bytes ahead, or nil past the end. `mutating` only so that
    /// a debug build does not copy the whole parser (and retain its strings) on
    /// each of the several calls per input byte.
    mutating func peek(_ offset: Int = 0) -> UInt8? {
        let position = index + offset
        return position >= 0 && position < count ? base[position] : nil
    }

    /// The byte at `position`, or nil outside the input.
    func byte(at position: Int) -> UInt8? {
        position >= 0 && position < count ? base[position] : nil
    }

    mutating func matches(_ word: String) -> Bool {
        var position = index
        for byte in word.utf8 {
            guard position < count, base[position] == byte else { return false }
            position += 1
        }
        return true
    }

    func location() -> TOMLLocation { TOMLLocation(file: file, line: line) }

    func error(_ message: String, at location: TOMLLocation? = nil, key: String? = nil) -> ConfigError {
        ConfigError(file: file, line: location?.line ?? line, key: key, message: message)
    }

    /// What is at the current position, for "expected X, found Y".
    func describeHere() -> String {
        guard let byte = byte(at: index) else { return "the end of the file" }
        if byte == .lineFeed || byte == .carriageReturn { return "the end of the line" }
        if Self.isForbiddenControl(byte) { return "control character \(Self.codePoint(byte))" }
        // A word, so an unquoted string shows as itself rather than as its first letter.
        var end = index
        while end < count, end - index < 40 {
            let next = base[end]
            if next == .space || next == .tab || next == .lineFeed || next == .carriageReturn
                || next == .comma || next == .closeBracket || next == .closeBrace || next == .hash
                || Self.isForbiddenControl(next) {
                break
            }
            end += 1
        }
        if end == index { end = index + 1 }
        // Back off to a character boundary (the input is valid UTF-8).
        while end < count, end > index + 1, base[end] & 0xC0 == 0x80 { end -= 1 }
        return "'" + String(decoding: slice(index..<end), as: UTF8.self) + "'"
    }

    /// The bytes in `range`, clamped to the input.
    func slice(_ range: Range<Int>) -> UnsafeBufferPointer<UInt8> {
        let lower = max(0, min(range.lowerBound, count))
        let upper = max(lower, min(range.upperBound, count))
        return UnsafeBufferPointer(start: base + lower, count: upper - lower)
    }

    /// TOML files are UTF-8; anything else is refused up front, with the line of the
    /// first bad byte, so the rest of the parser can slice strings freely. Overlong
    /// forms, surrogates and values above U+10FFFF are refused as RFC 3629 says.
    func validateUTF8() throws(ConfigError) {
        var position = index
        while position < count {
            let lead = base[position]
            if lead < 0x80 {
                position += 1
                continue
            }
            let length: Int
            var scalar: UInt32
            let minimum: UInt32
            switch lead {
            case 0xC2...0xDF: (length, scalar, minimum) = (2, UInt32(lead & 0x1F), 0x80)
            case 0xE0...0xEF: (length, scalar, minimum) = (3, UInt32(lead & 0x0F), 0x800)
            case 0xF0...0xF4: (length, scalar, minimum) = (4, UInt32(lead & 0x07), 0x1_0000)
            default: throw invalidUTF8(at: position)
            }
            guard position + length <= count else { throw invalidUTF8(at: position) }
            for offset in 1..<length {
                let next = base[position + offset]
                guard next & 0xC0 == 0x80 else { throw invalidUTF8(at: position) }
                scalar = scalar << 6 | UInt32(next & 0x3F)
            }
            guard scalar >= minimum, scalar <= 0x10_FFFF, !(0xD800...0xDFFF).contains(scalar) else {
                throw invalidUTF8(at: position)
            }
            position += length
        }
    }

    private func invalidUTF8(at position: Int) -> ConfigError {
        var badLine = 1
        for offset in 0..<position where base[offset] == .lineFeed { badLine += 1 }
        return ConfigError(file: file, line: badLine, key: nil,
                           message: "not valid UTF-8 (byte 0x\(String(base[position], radix: 16, uppercase: true)))")
    }
}

extension UInt8 {
    static let tab = UInt8(ascii: "\t")
    static let lineFeed = UInt8(ascii: "\n")
    static let carriageReturn = UInt8(ascii: "\r")
    static let space = UInt8(ascii: " ")
    static let hash = UInt8(ascii: "#")
    static let quote = UInt8(ascii: "\"")
    static let apostrophe = UInt8(ascii: "'")
    static let backslash = UInt8(ascii: "\\")
    static let openBracket = UInt8(ascii: "[")
    static let closeBracket = UInt8(ascii: "]")
    static let openBrace = UInt8(ascii: "{")
    static let closeBrace = UInt8(ascii: "}")
    static let equals = UInt8(ascii: "=")
    static let comma = UInt8(ascii: ",")
    static let dot = UInt8(ascii: ".")
}
