#if canImport(Glibc)
import Glibc
#endif

/// Validation of what the SMTP client gave us, before libspf2 sees it.
enum SPFInput {
    enum Address { case v4, v6 }

    static func ipAddress(_ text: String) -> Address? {
        guard text.utf8.count <= 64 else { return nil }
        var v4 = in_addr(), v6 = in6_addr()
        if inet_pton(AF_INET, text, &v4) == 1 { return .v4 }
        if inet_pton(AF_INET6, text, &v6) == 1 { return .v6 }
        return nil
    }

    /// `<a@b>` → `a@b`; `<>` → "".
    static func strippedSender(_ text: String) -> String {
        var sender = Substring(text).trimmingPrefix(while: { $0 == " " })
        if sender.hasPrefix("<") && sender.hasSuffix(">") { sender = sender.dropFirst().dropLast() }
        return String(sender)
    }

    /// A host name as RFC 7208 §4.3 wants it: dot-separated labels of letters,
    /// digits, hyphens (and underscores, common in practice), at least two labels.
    static func isDomainName<Text: StringProtocol>(_ text: Text) -> Bool {
        // One pass over the bytes, no label array: this runs on every inbound MAIL.
        var bytes = Substring(text).utf8[...]
        if bytes.last == UInt8(ascii: ".") { bytes = bytes.dropLast() }
        guard (1...253).contains(bytes.count) else { return false }
        var labels = 1
        var labelLength = 0
        var previous: UInt8 = 0
        for byte in bytes {
            if byte == UInt8(ascii: ".") {
                guard labelLength > 0, previous != UInt8(ascii: "-") else { return false }
                labels += 1
                labelLength = 0
            } else {
                guard isLabelByte(byte), labelLength > 0 || byte != UInt8(ascii: "-") else { return false }
                labelLength += 1
                guard labelLength <= 63 else { return false }
            }
            previous = byte
        }
        return labels >= 2 && labelLength > 0 && previous != UInt8(ascii: "-")
    }

    /// Letters, digits, `-`, and `_` (seen in real TXT and SRV owner names).
    private static func isLabelByte(_ byte: UInt8) -> Bool {
        (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5a) || (byte >= 0x61 && byte <= 0x7a) || byte == 0x2d || byte == 0x5f
    }

    /// local@domain with a printable local part and a valid domain.
    static func isValidSender(_ sender: String) -> Bool {
        guard sender.utf8.count <= 320, let at = sender.utf8.lastIndex(of: UInt8(ascii: "@")) else { return false }
        let local = sender[..<at]
        guard local.utf8.count <= 64, local.utf8.allSatisfy({ $0 > 0x20 && $0 != 0x7f }) else { return false }
        return isDomainName(sender[sender.index(after: at)...])
    }
}

extension Substring {
    func trimmingPrefix(while predicate: (Character) -> Bool) -> Substring { drop(while: predicate) }
}
