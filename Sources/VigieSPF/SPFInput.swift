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
    static func isDomainName(_ text: String) -> Bool {
        var name = Substring(text)
        if name.hasSuffix(".") { name = name.dropLast() }
        guard (1...253).contains(name.utf8.count) else { return false }
        let labels = name.split(separator: ".", omittingEmptySubsequences: false)
        guard labels.count >= 2 else { return false }
        return labels.allSatisfy { label in
            (1...63).contains(label.utf8.count) && label.utf8.allSatisfy {
                ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5a) || ($0 >= 0x61 && $0 <= 0x7a) || $0 == 0x2d || $0 == 0x5f
            } && !label.hasPrefix("-") && !label.hasSuffix("-")
        }
    }

    /// local@domain with a printable local part and a valid domain.
    static func isValidSender(_ sender: String) -> Bool {
        guard sender.utf8.count <= 320, let at = sender.lastIndex(of: "@") else { return false }
        let local = sender[..<at]
        guard local.utf8.count <= 64, local.utf8.allSatisfy({ $0 > 0x20 && $0 != 0x7f }) else { return false }
        return isDomainName(String(sender[sender.index(after: at)...]))
    }
}

extension Substring {
    func trimmingPrefix(while predicate: (Character) -> Bool) -> Substring { drop(while: predicate) }
}
