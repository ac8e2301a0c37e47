/// An envelope address split for SRS: the local part in its internal (unquoted) form
/// and the domain, as bytes.
///
/// Postfix hands table lookups the external form, where a local part with spaces or
/// specials is quoted (`"john doe"@example.org`). SRS hashes and embeds the unquoted
/// local part, and writes the result quoted again when it needs to be.
public struct MailAddress: Sendable, Equatable {
    public var localPart: [UInt8]
    public var domain: [UInt8]

    public init(localPart: [UInt8], domain: [UInt8]) {
        self.localPart = localPart
        self.domain = domain
    }

    /// Splits at the last `@` and unquotes a quoted local part; nil when there is no
    /// `@`, the local part or domain is empty, the domain holds a character no domain
    /// has, or the quoting is broken.
    public init?(_ address: some Collection<UInt8>) {
        let bytes = Array(address)
        guard let at = bytes.lastIndex(of: UInt8(ascii: "@")) else { return nil }
        let rawLocal = bytes[..<at]
        let domain = bytes[(at + 1)...]
        guard !rawLocal.isEmpty, !domain.isEmpty else { return nil }
        guard domain.allSatisfy(MailAddress.isDomainByte) else { return nil }
        var local: [UInt8]
        if rawLocal.first == UInt8(ascii: "\"") {
            guard rawLocal.count >= 2, rawLocal.last == UInt8(ascii: "\"") else { return nil }
            local = []
            var escaped = false
            for byte in rawLocal.dropFirst().dropLast() {
                if escaped {
                    local.append(byte)
                    escaped = false
                } else if byte == UInt8(ascii: "\\") {
                    escaped = true
                } else if byte == UInt8(ascii: "\"") {
                    return nil
                } else {
                    local.append(byte)
                }
            }
            guard !escaped, !local.isEmpty else { return nil }
        } else {
            local = Array(rawLocal)
        }
        guard !local.contains(where: { $0 < 0x20 || $0 == 0x7F }) else { return nil }
        self.localPart = local
        self.domain = Array(domain)
    }

    public init?(_ address: String) { self.init(Array(address.utf8)) }

    /// Letters, digits, `-`, `.`, `_`, brackets and colons for address literals, and
    /// any byte ≥ 0x80 (a UTF-8 international domain).
    static func isDomainByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
             UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "["), UInt8(ascii: "]"), UInt8(ascii: ":"):
            true
        default:
            byte >= 0x80
        }
    }

    /// RFC 5322 atext plus UTF-8 (RFC 6531), i.e. what a dot-atom may hold.
    static func isAtext(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            true
        default:
            byte >= 0x80 || Array("!#$%&'*+-/=?^_`{|}~".utf8).contains(byte)
        }
    }

    /// The local part as written in an address: as is when it is a dot-atom,
    /// otherwise quoted with `"` and `\` escaped.
    public static func externalLocalPart(_ local: [UInt8]) -> [UInt8] {
        let dotAtom = !local.isEmpty && local.first != UInt8(ascii: ".") && local.last != UInt8(ascii: ".")
            && !zip(local, local.dropFirst()).contains { $0 == UInt8(ascii: ".") && $1 == UInt8(ascii: ".") }
            && local.allSatisfy { isAtext($0) || $0 == UInt8(ascii: ".") }
        if dotAtom { return local }
        var quoted: [UInt8] = [UInt8(ascii: "\"")]
        for byte in local {
            if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") { quoted.append(UInt8(ascii: "\\")) }
            quoted.append(byte)
        }
        quoted.append(UInt8(ascii: "\""))
        return quoted
    }

    /// `local@domain`, the local part quoted when needed.
    public var external: [UInt8] {
        MailAddress.externalLocalPart(localPart) + [UInt8(ascii: "@")] + domain
    }

    public var externalString: String { String(decoding: external, as: UTF8.self) }
}
