/// Postfix's `tcp_table(5)` protocol, as postsrsd 1.x serves it.
///
///     request:  get SPACE key NEWLINE          (key %XX-encoded)
///     replies:  200 SPACE data NEWLINE         found (data %XX-encoded)
///               500 SPACE text NEWLINE         not found
///               400 SPACE text NEWLINE         temporary failure
///
/// Parsing is total: any byte sequence gives a request or a `500` reply, never a trap.
public enum TCPTableProtocol {
    /// Longest request line accepted (postsrsd 1.x reads 1023 bytes).
    public static let maximumLineLength = 4096

    public enum Request: Equatable, Sendable {
        case get(key: [UInt8])
        /// Answered `500 <reason>`; the connection stays usable.
        case invalid(String)
    }

    /// One request line, without its newline (a trailing CR is ignored).
    public static func parse(line: ArraySlice<UInt8>) -> Request {
        var line = line
        if line.last == UInt8(ascii: "\r") { line = line.dropLast() }
        guard line.count > 4, line.prefix(4).elementsEqual("get ".utf8) else {
            return .invalid("invalid request: expected get KEY")
        }
        guard let key = decode(line.dropFirst(4)), !key.isEmpty else { return .invalid("invalid request: bad %XX encoding") }
        return .get(key: key)
    }

    /// Reverses %XX encoding; nil for a `%` not followed by two hex digits.
    public static func decode(_ text: ArraySlice<UInt8>) -> [UInt8]? {
        var output: [UInt8] = []
        output.reserveCapacity(text.count)
        var index = text.startIndex
        while index < text.endIndex {
            let byte = text[index]
            if byte == UInt8(ascii: "%") {
                guard index + 2 < text.endIndex,
                      let high = hexValue(text[index + 1]), let low = hexValue(text[index + 2]) else { return nil }
                output.append(high << 4 | low)
                index += 3
            } else {
                output.append(byte)
                index += 1
            }
        }
        return output
    }

    /// %XX-encodes every byte that is not printable ASCII, and `%` itself.
    public static func encode(_ data: [UInt8]) -> [UInt8] {
        let hex = Array("0123456789ABCDEF".utf8)
        var output: [UInt8] = []
        output.reserveCapacity(data.count)
        for byte in data {
            if byte > 0x20 && byte < 0x7F && byte != UInt8(ascii: "%") {
                output.append(byte)
            } else {
                output += [UInt8(ascii: "%"), hex[Int(byte >> 4)], hex[Int(byte & 15)]]
            }
        }
        return output
    }

    /// The reply line (with its newline) for an answer.
    public static func reply(_ answer: LookupAnswer) -> [UInt8] {
        switch answer {
        case .found(let data): Array("200 ".utf8) + encode(data) + [10]
        case .notFound: Array("500 not found\n".utf8)
        case .temporary(let text): Array("400 ".utf8) + encode(Array(text.utf8)) + [10]
        // tcp_table has no "permanent error"; not found leaves the address alone.
        case .permanent(let text): Array("500 ".utf8) + encode(Array(text.utf8)) + [10]
        }
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

/// Postfix's `socketmap_table(5)` protocol, as postsrsd 2.x serves it: netstrings
/// `LEN:DATA,` both ways.
///
///     request:  name SPACE key
///     replies:  OK SPACE data | NOTFOUND SPACE | TEMP SPACE reason | PERM SPACE reason
///
/// Parsing is total: malformed framing is a `.malformed` result (answered with PERM,
/// then the connection is closed, since framing cannot be recovered).
public enum SocketmapProtocol {
    /// Largest netstring accepted (Postfix keys are far smaller; socketmap_max_reply is
    /// Postfix's limit the other way, 100000 by default).
    public static let maximumLength = 10_000

    public enum Parse: Equatable, Sendable {
        /// A complete netstring's payload, and how many bytes it used.
        case complete(payload: ArraySlice<UInt8>, consumed: Int)
        /// More bytes needed.
        case incomplete
        case malformed(String)
    }

    /// Tries to read one netstring at the start of `buffer`.
    public static func parseNetstring(_ buffer: ArraySlice<UInt8>) -> Parse {
        var length = 0
        var digits = 0
        var index = buffer.startIndex
        while index < buffer.endIndex {
            let byte = buffer[index]
            if byte == UInt8(ascii: ":") { break }
            guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else {
                return .malformed("netstring length is not a number")
            }
            digits += 1
            guard digits <= 5 else { return .malformed("netstring longer than \(maximumLength) bytes") }
            length = length * 10 + Int(byte - UInt8(ascii: "0"))
            index += 1
        }
        guard index < buffer.endIndex else { return .incomplete }
        guard digits > 0 else { return .malformed("netstring length is missing") }
        guard length <= maximumLength else { return .malformed("netstring longer than \(maximumLength) bytes") }
        let payloadStart = index + 1
        let commaIndex = payloadStart + length
        guard commaIndex < buffer.endIndex else { return .incomplete }
        guard buffer[commaIndex] == UInt8(ascii: ",") else { return .malformed("netstring does not end with ','") }
        return .complete(payload: buffer[payloadStart..<commaIndex], consumed: commaIndex + 1 - buffer.startIndex)
    }

    public static func netstring(_ payload: [UInt8]) -> [UInt8] {
        Array(String(payload.count).utf8) + [UInt8(ascii: ":")] + payload + [UInt8(ascii: ",")]
    }

    public enum Request: Equatable, Sendable {
        case lookup(table: SRSTableName, key: [UInt8])
        case invalid(String)
    }

    /// A request payload: `name SPACE key`.
    public static func parse(payload: ArraySlice<UInt8>) -> Request {
        guard let space = payload.firstIndex(of: UInt8(ascii: " ")) else { return .invalid("expected: name key") }
        let name = String(decoding: payload[..<space], as: UTF8.self)
        guard let table = SRSTableName(rawValue: name) else {
            return .invalid("unknown map \(LogText.safe(Array(payload[..<space].prefix(40)))); expected forward, reverse, access or transport")
        }
        let key = Array(payload[(space + 1)...])
        guard !key.isEmpty else { return .invalid("empty key") }
        return .lookup(table: table, key: key)
    }

    public static func reply(_ answer: LookupAnswer) -> [UInt8] {
        switch answer {
        case .found(let data): netstring(Array("OK ".utf8) + data)
        case .notFound: netstring(Array("NOTFOUND ".utf8))
        case .temporary(let text): netstring(Array("TEMP \(text)".utf8))
        case .permanent(let text): netstring(Array("PERM \(text)".utf8))
        }
    }
}
