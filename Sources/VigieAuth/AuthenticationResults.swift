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
        // One byte buffer for the whole value: built from interpolated parts joined
        // twice, it cost as much as the DMARC evaluation (callgrind).
        var out: [UInt8] = []
        out.reserveCapacity(512)
        out += authservID.utf8
        var results = 0
        func next() {
            out += ";\n\t".utf8
            results += 1
        }
        if let spf { next(); appendSPFResult(spf, to: &out) }
        if let dkim {
            if dkim.signatures.isEmpty {
                next(); out += "dkim=none".utf8
            } else {
                for signature in dkim.signatures { next(); appendDKIMResult(signature, to: &out) }
            }
        }
        for result in additional { next(); out += result.utf8 }
        if results == 0 { out += "; none".utf8 }
        return String(decoding: out, as: UTF8.self)
    }

    static func spfResult(_ spf: SPFOutcome) -> String {
        var out: [UInt8] = []
        appendSPFResult(spf, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    static func appendSPFResult(_ spf: SPFOutcome, to out: inout [UInt8]) {
        out += "spf=".utf8
        out += spf.result.rawValue.utf8
        if let reason = spf.reason, !reason.isEmpty {
            out.append(UInt8(ascii: " "))
            appendComment(reason, to: &out)
        }
        switch spf.identity {
        case .mailFrom:
            out += " smtp.mailfrom=".utf8
            appendAddressValue(spf.checkedAddress, to: &out)
        case .helo:
            out += " smtp.helo=".utf8
            appendPropertyValue(spf.helo, to: &out)
        }
    }

    static func dkimResult(_ sig: DKIMSignatureOutcome) -> String {
        var out: [UInt8] = []
        appendDKIMResult(sig, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    static func appendDKIMResult(_ sig: DKIMSignatureOutcome, to out: inout [UInt8]) {
        out += "dkim=".utf8
        out += sig.result.rawValue.utf8
        let bits = sig.keyBits.flatMap { $0 > 0 ? $0 : nil }
        let reason = sig.reason.flatMap { $0.isEmpty ? nil : $0 }
        switch (bits, reason) {
        case (let bits?, let reason?): out.append(UInt8(ascii: " ")); appendComment("\(bits)-bit key; \(reason)", to: &out)
        case (let bits?, nil): out.append(UInt8(ascii: " ")); appendComment("\(bits)-bit key", to: &out)
        case (nil, let reason?): out.append(UInt8(ascii: " ")); appendComment(reason, to: &out)
        case (nil, nil): break
        }
        if !sig.domain.isEmpty { out += " header.d=".utf8; appendPropertyValue(sig.domain, to: &out) }
        if let identity = sig.identity, !identity.isEmpty { out += " header.i=".utf8; appendAddressValue(identity, to: &out) }
        if let algorithm = sig.algorithm, !algorithm.isEmpty { out += " header.a=".utf8; appendPropertyValue(algorithm, to: &out) }
        if !sig.selector.isEmpty { out += " header.s=".utf8; appendPropertyValue(sig.selector, to: &out) }
        if let b = sig.signaturePrefix, !b.isEmpty { out += " header.b=".utf8; appendPropertyValue(b, to: &out) }
    }

    // These run for every header Vigie writes on every inbound message: they work on
    // UTF-8 bytes appended to one buffer (per-scalar string appends, a Set built on
    // each call, then interpolated strings joined were together a sixth of the
    // inbound role's own instructions, callgrind). Every byte they treat specially is
    // ASCII; a scalar starts at every byte that is not a UTF-8 continuation byte
    // (0x80...0xBF), which is how "characters" are counted on the bytes.

    /// A `(comment)`: printable ASCII only, parentheses and backslashes escaped, cut
    /// to 200 characters.
    public static func comment(_ text: String) -> String {
        var out: [UInt8] = []
        appendComment(text, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    static func appendComment(_ text: String, to out: inout [UInt8]) {
        out.reserveCapacity(out.count + text.utf8.count + 8)
        out.append(UInt8(ascii: "("))
        var scalars = 0
        for byte in text.utf8 {
            if byte & 0xC0 == 0x80 { continue }  // the rest of a scalar already replaced
            if scalars == 200 { break }
            scalars += 1
            switch byte {
            case 0x28, 0x29, 0x5C: out.append(UInt8(ascii: "\\")); out.append(byte)  // ( ) \
            case 0x20...0x7E: out.append(byte)
            default: out.append(UInt8(ascii: " "))
            }
        }
        out.append(UInt8(ascii: ")"))
    }

    /// A MIME token as is; anything else as a quoted-string (RFC 2045 `value`).
    public static func propertyValue(_ text: String) -> String {
        var out: [UInt8] = []
        appendPropertyValue(text, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    static func appendPropertyValue(_ text: String, to out: inout [UInt8]) {
        // A token is ASCII, so its first 255 bytes are its first 255 characters.
        let head = text.utf8.prefix(255)
        if !head.isEmpty && head.allSatisfy(isTokenByte) {
            out += head
        } else {
            appendQuoted(text, scalarLimit: 255, to: &out)
        }
    }

    /// Printable ASCII other than RFC 2045's tspecials `()<>@,;:\"/[]?=`.
    private static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case 0x28, 0x29, 0x3C, 0x3E, 0x40, 0x2C, 0x3B, 0x3A, 0x5C, 0x22, 0x2F, 0x5B, 0x5D, 0x3F, 0x3D: false
        default: byte > 0x20 && byte < 0x7F
        }
    }

    /// `local@domain` when both halves are plain (dot-atom), else a quoted-string.
    static func addressValue(_ address: String) -> String {
        var out: [UInt8] = []
        appendAddressValue(address, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    static func appendAddressValue(_ address: String, to out: inout [UInt8]) {
        var ats = 0
        let plain = !address.isEmpty && address.utf8.count <= 255 && address.utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "@"): ats += 1; return true
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                return true
            // The symbols of RFC 5322 `atext`, and the dot of a dot-atom: !#$%&'*+-/=?^_`{|}~.
            case 0x21, 0x23, 0x24, 0x25, 0x26, 0x27, 0x2A, 0x2B, 0x2D, 0x2F, 0x3D, 0x3F, 0x5E, 0x5F, 0x60, 0x7B, 0x7C, 0x7D, 0x7E, 0x2E:
                return true
            default: return false
            }
        } && ats <= 1
        if plain { out += address.utf8 } else { appendQuoted(address, scalarLimit: 255, to: &out) }
    }

    static func quoted(_ text: String) -> String {
        var out: [UInt8] = []
        appendQuoted(text, scalarLimit: .max, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// A quoted-string of the first `scalarLimit` scalars of `text`.
    static func appendQuoted(_ text: String, scalarLimit: Int, to out: inout [UInt8]) {
        out.reserveCapacity(out.count + text.utf8.count + 8)
        out.append(UInt8(ascii: "\""))
        var scalars = 0
        for byte in text.utf8 {
            if byte & 0xC0 != 0x80 {
                if scalars == scalarLimit { break }
                scalars += 1
            }
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"): out.append(UInt8(ascii: "\\")); out.append(byte)
            case ..<0x20, 0x7F: out.append(UInt8(ascii: " "))
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
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
