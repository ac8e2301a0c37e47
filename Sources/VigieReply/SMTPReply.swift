/// A whole SMTP reply: code, enhanced status code and text lines, as the policy
/// means them (the send-limit notices, the inbound SPF refusals).
///
/// A policy value, shared by VigieCore and VigieAuth without either needing the
/// other: lines are plain text made safe by `ReplyText` (no CR, LF or control
/// characters, each at most `ReplyText.maximumLineBytes` bytes). How a reply travels
/// to the MTA (libmilter's `%` escaping, its 32-line cap) is MilterTransport's
/// business, applied there and nowhere else.
public struct SMTPReply: Sendable, Equatable, CustomStringConvertible {
    public var code: String
    public var enhancedCode: String
    public var lines: [String]

    public init(code: String, enhancedCode: String, lines: [String]) {
        self.code = code
        self.enhancedCode = enhancedCode
        self.lines = lines
    }

    /// True for 4xx replies.
    public var isTemporary: Bool { code.hasPrefix("4") }

    public var description: String {
        lines.enumerated().map { "\(code)\($0.offset == lines.count - 1 ? " " : "-")\(enhancedCode) \($0.element)" }
            .joined(separator: "\n")
    }
}

/// Makes text safe to put in an SMTP reply.
public enum ReplyText {
    /// Postfix accepts up to 980 bytes of text per reply line (POSTFIX-NOTES).
    public static let maximumLineBytes = 980
    /// Interpolated values (account names, addresses, reasons) are cut to this.
    public static let maximumValueCharacters = 64
    /// ... and to this many bytes: 64 characters of a non-Latin script (or built of
    /// combining marks) could otherwise fill a reply line on their own. With `%`
    /// doubled by the transport, a value takes at most twice this on the wire; the
    /// config loader counts on that bound (NoticeTemplates.worstCaseBytes), so a
    /// notice that checks is never cut on its way out.
    public static let maximumValueBytes = 128

    /// A value coming from outside (login, address, admin's reason): control
    /// characters become spaces, and it is cut to `maximumValueCharacters`.
    public static func sanitizeValue(_ value: String) -> String {
        var cleaned = String(String.UnicodeScalarView(value.unicodeScalars.map { scalar in
            scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) || scalar == "\u{2028}" || scalar == "\u{2029}" ? " " : scalar
        }))
        if cleaned.count > maximumValueCharacters || cleaned.utf8.count > maximumValueBytes {
            // Whole characters only, leaving room for the ellipsis (3 bytes).
            var cut = ""
            var bytes = 0
            for character in cleaned.prefix(maximumValueCharacters - 1) {
                let size = character.utf8.count
                if bytes + size > maximumValueBytes - 3 { break }
                cut.append(character)
                bytes += size
            }
            cleaned = cut + "…"
        }
        return cleaned
    }

    /// A finished line: control characters removed, and cut to `maximumLineBytes`
    /// on a character boundary.
    public static func finishLine(_ line: String) -> String {
        var out = ""
        var bytes = 0
        for character in sanitizeLine(line) {
            let size = character.utf8.count
            if bytes + size > maximumLineBytes { break }
            out.append(character)
            bytes += size
        }
        return out
    }

    private static func sanitizeLine(_ line: String) -> String {
        String(String.UnicodeScalarView(line.unicodeScalars.map { scalar in
            scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) ? " " : scalar
        }))
    }
}
