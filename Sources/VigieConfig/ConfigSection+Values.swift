import VigieCore
import VigieReply

/// Getters for the value shapes Vigie's schema uses beyond plain TOML types:
/// limits, durations, paths, names.
extension ConfigSection {
    /// A send limit: an integer of at least 1, or "unlimited".
    func limit(_ key: String) throws(ConfigError) -> LimitValue? {
        guard let value = table[key] else { return nil }
        if let count = value.integer, count >= 1 { return .maximum(count) }
        if value.string == "unlimited" { return .unlimited }
        throw error(key, "expected a positive integer or \"unlimited\", got \(value.summary)")
    }

    /// A threshold where 0 means "off": an integer of at least 0; nil when absent or 0.
    func threshold(_ key: String) throws(ConfigError) -> Int? {
        guard let value = table[key] else { return nil }
        guard let count = value.integer, count >= 0 else {
            throw error(key, "expected a positive integer, or 0 to turn this signal off, got \(value.summary)")
        }
        return count == 0 ? nil : count
    }

    /// A duration written `"90s"`, `"10m"`, `"1h"` or `"1d"`, within bounds.
    func duration(_ key: String, atLeast minimum: Duration, atMost maximum: Duration) throws(ConfigError) -> Duration? {
        guard let value = table[key] else { return nil }
        guard let text = value.string, let duration = DurationSyntax.parse(text) else {
            throw error(key, "expected a duration such as \"90s\", \"10m\", \"1h\" or \"1d\", got \(value.summary)")
        }
        guard duration >= minimum, duration <= maximum else {
            throw error(key, "expected a duration from \(minimum.humanReadable) to \(maximum.humanReadable), got \(value.summary)")
        }
        return duration
    }

    /// A short duration: `"250ms"`, or whole seconds as `duration` writes them
    /// (`"1s"`), within bounds. For waits measured in milliseconds (Redis).
    func shortDuration(_ key: String, atLeast minimum: Duration, atMost maximum: Duration) throws(ConfigError) -> Duration? {
        guard let value = table[key] else { return nil }
        var parsed: Duration?
        if let text = value.string {
            if text.hasSuffix("ms"), text.count > 2, text.count <= 8, text.dropLast(2).allSatisfy({ $0.isASCII && $0.isNumber }),
               let milliseconds = Int64(text.dropLast(2)) {
                parsed = .milliseconds(milliseconds)
            } else {
                parsed = DurationSyntax.parse(text)
            }
        }
        guard let duration = parsed else {
            throw error(key, "expected a duration such as \"250ms\" or \"1s\", got \(value.summary)")
        }
        guard duration >= minimum, duration <= maximum else {
            throw error(key, "expected a duration from \(minimum.milliseconds)ms to \(maximum.milliseconds)ms, got \(value.summary)")
        }
        return duration
    }

    /// An absolute file or directory path.
    func absolutePath(_ key: String) throws(ConfigError) -> String? {
        guard let path = try string(key) else { return nil }
        guard path.hasPrefix("/") else {
            throw error(key, "expected an absolute path (starting with \"/\"), got \(table[key]?.summary ?? "")")
        }
        if let problem = TextCheck.controlCharacter(in: path) { throw error(key, "the path contains \(problem)") }
        return path
    }

    /// A Unix user or group name: no blanks, colons, slashes or control characters.
    func systemName(_ key: String, what: String) throws(ConfigError) -> String? {
        guard let name = try string(key) else { return nil }
        if let problem = TextCheck.systemNameProblem(name) { throw error(key, "expected \(what), but \(problem)") }
        return name
    }

    /// Text that ends up on a command line or in a header (an address, a domain):
    /// no blanks, no control characters, and no leading '-' that sendmail(1) would
    /// read as an option.
    func word(_ key: String, what: String) throws(ConfigError) -> String? {
        guard let word = try string(key) else { return nil }
        if let problem = TextCheck.wordProblem(word) { throw error(key, "expected \(what), but \(problem)") }
        return word
    }

    /// A domain name, returned lower-cased.
    func domain(_ key: String) throws(ConfigError) -> String? {
        guard let domain = try string(key) else { return nil }
        if let problem = TextCheck.domainProblem(domain) { throw error(key, "expected a domain name such as example.org, but \(problem)") }
        return domain.lowercased()
    }
}

/// Durations as the configuration writes them: a whole number and one unit.
public enum DurationSyntax {
    /// `"90s"`, `"10m"`, `"1h"`, `"1d"`; nil for anything else (no spaces, no
    /// combinations like `"1h30m"`, no fractions).
    public static func parse(_ text: String) -> Duration? {
        let bytes = Array(text.utf8)
        guard bytes.count >= 2, bytes.count <= 10, let unit = bytes.last else { return nil }
        let digits = bytes.dropLast()
        guard digits.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }),
              let number = Int64(String(decoding: digits, as: UTF8.self)) else { return nil }
        let seconds: Int64
        switch unit {
        case UInt8(ascii: "s"): seconds = number
        case UInt8(ascii: "m"): seconds = number * 60
        case UInt8(ascii: "h"): seconds = number * 3600
        case UInt8(ascii: "d"): seconds = number * 86_400
        default: return nil
        }
        return .seconds(seconds)
    }
}

/// Checks on free text from the configuration, each returning what is wrong.
enum TextCheck {
    static func controlCharacter(in text: String) -> String? {
        for scalar in text.unicodeScalars where scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) {
            return "control character U+" + String(scalar.value, radix: 16, uppercase: true).leftPadded(to: 4)
        }
        return nil
    }

    /// Why a value written into SMTP replies (`{contact}`, a `[words]` phrase) would
    /// not be shown whole, or nil. The renderer cuts longer values
    /// (`ReplyText.sanitizeValue`); a limit refused here is one nobody discovers in a
    /// member's mail client.
    static func replyValueProblem(_ text: String) -> String? {
        let characters = text.count
        let bytes = text.utf8.count
        guard characters > ReplyText.maximumValueCharacters || bytes > ReplyText.maximumValueBytes else { return nil }
        return "is \(bytes) bytes (\(characters) characters) long; a value written into SMTP replies may be at most \(ReplyText.maximumValueCharacters) characters and \(ReplyText.maximumValueBytes) bytes"
    }

    /// Empty, or only blanks.
    static func isBlank(_ text: String) -> Bool {
        text.unicodeScalars.allSatisfy { $0.properties.isWhitespace }
    }

    static func blank(in text: String) -> Bool {
        text.unicodeScalars.contains { $0.properties.isWhitespace }
    }

    static func systemNameProblem(_ name: String) -> String? {
        if name.isEmpty { return "it is empty" }
        if let control = controlCharacter(in: name) { return "it contains \(control)" }
        if blank(in: name) { return "it contains a blank" }
        if name.contains(":") || name.contains("/") { return "it contains ':' or '/'" }
        if name.hasPrefix("-") { return "it starts with '-'" }
        if name.utf8.count > 256 { return "it is longer than 256 bytes" }
        return nil
    }

    static func wordProblem(_ word: String) -> String? {
        if word.isEmpty { return "it is empty" }
        if let control = controlCharacter(in: word) { return "it contains \(control)" }
        if blank(in: word) { return "it contains a blank" }
        if word.hasPrefix("-") { return "it starts with '-', which sendmail would read as an option" }
        if word.utf8.count > 256 { return "it is longer than 256 bytes" }
        return nil
    }

    static func domainProblem(_ domain: String) -> String? {
        if domain.isEmpty { return "it is empty" }
        if domain.utf8.count > 253 { return "it is longer than 253 bytes" }
        let allowed = domain.unicodeScalars.allSatisfy { scalar in
            scalar.isASCII && (scalar.properties.isAlphabetic || ("0"..."9").contains(scalar) || scalar == "-" || scalar == ".")
        }
        if !allowed { return "it may hold only letters, digits, '-' and '.' (write an internationalised domain in its xn-- form)" }
        if domain.hasPrefix(".") || domain.hasSuffix(".") || domain.hasPrefix("-") || domain.contains("..") {
            return "it is not a well-formed domain name"
        }
        return nil
    }
}
