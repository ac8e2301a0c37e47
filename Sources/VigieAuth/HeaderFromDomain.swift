/// The domain of the one address in a From header field (RFC 5322 §3.6.2): what
/// picks the signing key, and what DMARC aligns with (RFC 7489 §3.1).
///
/// Reads `Name <local@domain>`, `local@domain`, quoted display names and local
/// parts, and comments; refuses what names no single domain: several addresses,
/// a group, no "@", an empty or malformed domain. Bytes, not Characters: the
/// value is hostile input, and a header may hold anything but NUL.
public enum HeaderFromDomain {
    public enum Problem: String, Sendable, Equatable, Error {
        case noAddress = "no address"
        case severalAddresses = "several addresses"
        case malformed = "malformed address"
    }

    /// The lower-cased domain of the value's only address.
    public static func domain(of value: String) -> Result<String, Problem> {
        let bytes = Array(value.utf8)
        guard bytes.count <= 16 * 1024 else { return .failure(.malformed) }
        // One pass: drop comments, keep quoted strings whole, note the angle
        // brackets and the commas and group colons outside both.
        var text: [UInt8] = []
        var depth = 0
        var quoted = false
        var escaped = false
        for byte in bytes {
            if escaped { escaped = false; if depth == 0 { text.append(quoted ? UInt8(ascii: "x") : byte) }; continue }
            if byte == UInt8(ascii: "\\") && (quoted || depth > 0) { escaped = true; continue }
            if quoted {
                if byte == UInt8(ascii: "\"") { quoted = false }
                // The quoted text stands as one opaque word: its "@", "<" or ","
                // are not the address's.
                text.append(byte == UInt8(ascii: "\"") ? byte : UInt8(ascii: "x"))
                continue
            }
            if byte == UInt8(ascii: "(") { depth += 1; continue }
            if byte == UInt8(ascii: ")") { if depth == 0 { return .failure(.malformed) }; depth -= 1; continue }
            if depth > 0 { continue }
            if byte == UInt8(ascii: "\"") { quoted = true }
            text.append(byte)
        }
        guard depth == 0, !quoted else { return .failure(.malformed) }
        if text.contains(UInt8(ascii: ",")) || text.contains(UInt8(ascii: ";")) { return .failure(.severalAddresses) }
        if text.contains(UInt8(ascii: ":")) { return .failure(.severalAddresses) }  // a group
        var address = text[...]
        if let open = text.firstIndex(of: UInt8(ascii: "<")) {
            guard let close = text.lastIndex(of: UInt8(ascii: ">")), open < close,
                  text.filter({ $0 == UInt8(ascii: "<") }).count == 1, text.filter({ $0 == UInt8(ascii: ">") }).count == 1,
                  text[text.index(after: close)...].allSatisfy(isBlank)
            else { return .failure(.malformed) }
            address = text[text.index(after: open)..<close]
        } else if text.contains(UInt8(ascii: ">")) {
            return .failure(.malformed)
        }
        address = address.drop(while: isBlank)
        while let last = address.last, isBlank(last) { address = address.dropLast() }
        guard !address.isEmpty else { return .failure(.noAddress) }
        guard let at = address.lastIndex(of: UInt8(ascii: "@")) else { return .failure(.noAddress) }
        let local = address[address.startIndex..<at]
        var domain = Array(address[address.index(after: at)...])
        guard !local.isEmpty, !local.contains(where: isBlank) || local.first == UInt8(ascii: "\"") else { return .failure(.malformed) }
        if domain.last == UInt8(ascii: ".") { domain.removeLast() }  // a root-terminated name
        guard isDomain(domain) else { return .failure(.malformed) }
        return .success(String(decoding: domain.map { $0 >= 0x41 && $0 <= 0x5a ? $0 | 0x20 : $0 }, as: UTF8.self))
    }

    private static func isBlank(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 || byte == 0x0d || byte == 0x0a }

    /// LDH labels of 1 to 63 bytes, at least two, 253 bytes at most (a domain
    /// literal such as [192.0.2.1] names no domain to sign for or align with).
    static func isDomain(_ bytes: [UInt8]) -> Bool {
        guard !bytes.isEmpty, bytes.count <= 253 else { return false }
        let labels = bytes.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        guard labels.count >= 2 else { return false }
        return labels.allSatisfy { label in
            (1...63).contains(label.count) && label.first != UInt8(ascii: "-") && label.last != UInt8(ascii: "-")
                && label.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 | 0x20 >= 0x61 && $0 | 0x20 <= 0x7a) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") }
        }
    }
}
