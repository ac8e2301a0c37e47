/// Builds the `Authentication-Results` header (RFC 8601) Vigie adds, in the form
/// opendkim and other MTAs write, so mail clients and later filters can read it:
///
///     mx.example.org;
///         spf=pass smtp.mailfrom=alice@example.com;
///         dkim=pass (2048-bit key) header.d=example.com header.s=sel header.a=rsa-sha256 header.b=QNgoBD01
///
/// Every value taken from the message or the envelope goes through `propertyValue`
/// or `comment`, so a hostile HELO or selector cannot inject a `;` or a fake result.
public enum AuthenticationResults {
    public static let headerName = "Authentication-Results"

    /// The header's value (without the name), folded with CRLF-free "\n\t" as
    /// libmilter expects for `smfi_insheader`. `additional` are further results
    /// already built with `comment` and `propertyValue` (VigieDMARC's `dmarc=`,
    /// which this module cannot know without depending on it).
    public static func value(authservID: String, spf: SPFOutcome?, dkim: DKIMOutcome?, additional: [String] = []) -> String {
        var results: [String] = []
        if let spf { results.append(spfResult(spf)) }
        if let dkim {
            if dkim.signatures.isEmpty {
                results.append("dkim=none")
            } else {
                results += dkim.signatures.map(dkimResult)
            }
        }
        results += additional
        if results.isEmpty { return "\(authservID); none" }
        return ([authservID] + results).joined(separator: ";\n\t")
    }

    static func spfResult(_ spf: SPFOutcome) -> String {
        var parts = ["spf=\(spf.result.rawValue)"]
        if let reason = spf.reason, !reason.isEmpty { parts.append(comment(reason)) }
        switch spf.identity {
        case .mailFrom: parts.append("smtp.mailfrom=\(addressValue(spf.checkedAddress))")
        case .helo: parts.append("smtp.helo=\(propertyValue(spf.helo))")
        }
        return parts.joined(separator: " ")
    }

    static func dkimResult(_ sig: DKIMSignatureOutcome) -> String {
        var parts = ["dkim=\(sig.result.rawValue)"]
        var notes: [String] = []
        if let bits = sig.keyBits, bits > 0 { notes.append("\(bits)-bit key") }
        if let reason = sig.reason, !reason.isEmpty { notes.append(reason) }
        if !notes.isEmpty { parts.append(comment(notes.joined(separator: "; "))) }
        if !sig.domain.isEmpty { parts.append("header.d=\(propertyValue(sig.domain))") }
        if let identity = sig.identity, !identity.isEmpty { parts.append("header.i=\(addressValue(identity))") }
        if let algorithm = sig.algorithm, !algorithm.isEmpty { parts.append("header.a=\(propertyValue(algorithm))") }
        if !sig.selector.isEmpty { parts.append("header.s=\(propertyValue(sig.selector))") }
        if let b = sig.signaturePrefix, !b.isEmpty { parts.append("header.b=\(propertyValue(b))") }
        return parts.joined(separator: " ")
    }

    // These four run for every header Vigie writes on every inbound message: they work
    // on UTF-8 bytes into one buffer (per-scalar string appends and a Set built on each
    // call were a sixth of the inbound role's own instructions, callgrind). Every
    // byte they treat specially is ASCII, and UTF-8 continuation bytes are >= 0x80.

    /// A `(comment)`: printable ASCII only, parentheses and backslashes escaped, cut
    /// to 200 characters.
    public static func comment(_ text: String) -> String {
        var out: [UInt8] = [UInt8(ascii: "(")]
        out.reserveCapacity(text.utf8.count + 8)
        for scalar in text.unicodeScalars.prefix(200) {
            switch scalar.value {
            case 0x28, 0x29, 0x5C: out.append(UInt8(ascii: "\\")); out.append(UInt8(scalar.value))  // ( ) \
            case 0x20...0x7E: out.append(UInt8(scalar.value))
            default: out.append(UInt8(ascii: " "))
            }
        }
        out.append(UInt8(ascii: ")"))
        return String(decoding: out, as: UTF8.self)
    }

    /// A MIME token as is; anything else as a quoted-string (RFC 2045 `value`).
    public static func propertyValue(_ text: String) -> String {
        // A token is ASCII, so its first 255 bytes are its first 255 characters.
        let head = text.utf8.prefix(255)
        let isToken = !head.isEmpty && head.allSatisfy { byte in
            byte > 0x20 && byte < 0x7F && !Self.tspecials.contains(byte)
        }
        if isToken { return text.utf8.count <= 255 ? text : String(decoding: head, as: UTF8.self) }
        return quoted(String(String.UnicodeScalarView(text.unicodeScalars.prefix(255))))
    }

    /// RFC 2045 tspecials: `()<>@,;:\"/[]?=`.
    private static let tspecials: [UInt8] = Array("()<>@,;:\\\"/[]?=".utf8)

    /// `local@domain` when both halves are plain (dot-atom), else a quoted-string.
    static func addressValue(_ address: String) -> String {
        var ats = 0
        let plain = !address.isEmpty && address.utf8.count <= 255 && address.utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "@"): ats += 1; return true
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                return true
            default: return Self.atextSymbols.contains(byte)
            }
        } && ats <= 1
        return plain ? address : quoted(String(String.UnicodeScalarView(address.unicodeScalars.prefix(255))))
    }

    /// The symbols of RFC 5322 `atext`, and the dot of a dot-atom.
    private static let atextSymbols: [UInt8] = Array("!#$%&'*+-/=?^_`{|}~.".utf8)

    static func quoted(_ text: String) -> String {
        var out: [UInt8] = [UInt8(ascii: "\"")]
        out.reserveCapacity(text.utf8.count + 8)
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"): out.append(UInt8(ascii: "\\")); out.append(byte)
            case ..<0x20, 0x7F: out.append(UInt8(ascii: " "))
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
        return String(decoding: out, as: UTF8.self)
    }

    /// The authserv-id an `Authentication-Results` value claims: its first token,
    /// after any comments and white space (RFC 8601 §2.2). Nil if there is none.
    public static func authservID(ofHeaderValue value: String) -> String? {
        var scalars = Substring(value).unicodeScalars[...]
        var depth = 0
        // Skip CFWS.
        while let first = scalars.first {
            if depth > 0 {
                if first == "\\" { scalars = scalars.dropFirst(2); continue }
                if first == "(" { depth += 1 } else if first == ")" { depth -= 1 }
                scalars = scalars.dropFirst()
            } else if first == "(" {
                depth = 1
                scalars = scalars.dropFirst()
            } else if first == " " || first == "\t" || first == "\r" || first == "\n" {
                scalars = scalars.dropFirst()
            } else {
                break
            }
        }
        if scalars.first == "\"" {
            var id = ""
            scalars = scalars.dropFirst()
            while let c = scalars.first, c != "\"" {
                if c == "\\" { scalars = scalars.dropFirst() }
                if let next = scalars.first { id.unicodeScalars.append(next) }
                scalars = scalars.dropFirst()
            }
            return id.isEmpty ? nil : id
        }
        let token = scalars.prefix { !($0 == ";" || $0 == " " || $0 == "\t" || $0 == "\r" || $0 == "\n" || $0 == "(") }
        return token.isEmpty ? nil : String(String.UnicodeScalarView(token))
    }

    /// Which of a message's `Authentication-Results` headers claim `authservID`
    /// (case-insensitively): forgeries to delete, since only we may write those.
    /// `headerValues` are the values of the message's A-R headers in order; the
    /// answer holds their 1-based positions, as `smfi_chgheader` counts them.
    public static func forgedHeaderPositions(headerValues: [String], authservID: String) -> [Int] {
        let ours = authservID.lowercased()
        return headerValues.enumerated().compactMap { index, value in
            AuthenticationResults.authservID(ofHeaderValue: value)?.lowercased() == ours ? index + 1 : nil
        }
    }
}
