/// Helpers for addresses as SMTP carries them in MAIL FROM and RCPT TO (`<a@b>`).
public enum EnvelopeAddress {
    /// The address without angle brackets and surrounding spaces. `<>` becomes "".
    ///
    /// Works on UTF-8 bytes: every character it removes is ASCII, so the cut falls
    /// on a character boundary, and this runs for every recipient of every message
    /// (walking `Character`s was a tenth of a message's instructions, callgrind).
    public static func strip(_ raw: String) -> String {
        let bytes = raw.utf8
        var start = bytes.startIndex
        var end = bytes.endIndex
        trimBlanks(bytes, &start, &end)
        if start < end, bytes[start] == UInt8(ascii: "<") { start = bytes.index(after: start) }
        if start < end, bytes[bytes.index(before: end)] == UInt8(ascii: ">") { end = bytes.index(before: end) }
        trimBlanks(bytes, &start, &end)
        if start == bytes.startIndex, end == bytes.endIndex { return raw }
        return String(raw[start..<end])
    }

    private static func trimBlanks(_ bytes: String.UTF8View, _ start: inout String.Index, _ end: inout String.Index) {
        func isBlank(_ byte: UInt8) -> Bool { byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") }
        while start < end, isBlank(bytes[start]) { start = bytes.index(after: start) }
        while start < end, isBlank(bytes[bytes.index(before: end)]) { end = bytes.index(before: end) }
    }

    /// The local part of an address (before the last `@`), lower-cased.
    public static func localPart(_ address: String) -> String {
        let stripped = strip(address)
        guard let at = stripped.utf8.lastIndex(of: UInt8(ascii: "@")) else { return stripped.lowercased() }
        return String(stripped[..<at]).lowercased()
    }
}
