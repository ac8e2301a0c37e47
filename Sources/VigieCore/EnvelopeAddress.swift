/// Helpers for addresses as SMTP carries them in MAIL FROM and RCPT TO (`<a@b>`).
public enum EnvelopeAddress {
    /// The address without angle brackets and surrounding spaces. `<>` becomes "".
    public static func strip(_ raw: String) -> String {
        var address = raw.trimmingWhitespace()
        if address.hasPrefix("<") { address.removeFirst() }
        if address.hasSuffix(">") { address.removeLast() }
        return address.trimmingWhitespace()
    }

    /// The local part of an address (before the last `@`), lower-cased.
    public static func localPart(_ address: String) -> String {
        let stripped = strip(address)
        guard let at = stripped.lastIndex(of: "@") else { return stripped.lowercased() }
        return String(stripped[..<at]).lowercased()
    }
}
