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
    /// libmilter expects for `smfi_insheader`.
    public static func value(authservID: String, spf: SPFOutcome?, dkim: DKIMOutcome?) -> String {
        var results: [String] = []
        if let spf { results.append(spfResult(spf)) }
        if let dkim {
            if dkim.signatures.isEmpty {
                results.append("dkim=none")
            } else {
                results += dkim.signatures.map(dkimResult)
            }
        }
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

    /// A `(comment)`: printable ASCII only, parentheses and backslashes escaped, cut
    /// to 200 characters.
    static func comment(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars.prefix(200) {
            switch scalar {
            case "(", ")", "\\": out += "\\\(scalar)"
            case _ where scalar.value < 0x20 || scalar.value > 0x7e: out += " "
            default: out.unicodeScalars.append(scalar)
            }
        }
        return "(\(out))"
    }

    /// A MIME token as is; anything else as a quoted-string (RFC 2045 `value`).
    static func propertyValue(_ text: String) -> String {
        let tspecials = Set("()<>@,;:\\\"/[]?=".unicodeScalars)
        let clipped = String(String.UnicodeScalarView(text.unicodeScalars.prefix(255)))
        if !clipped.isEmpty, clipped.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7f && !tspecials.contains($0) }) {
            return clipped
        }
        return quoted(clipped)
    }

    /// `local@domain` when both halves are plain (dot-atom), else a quoted-string.
    static func addressValue(_ address: String) -> String {
        let atext = Set("!#$%&'*+-/=?^_`{|}~.".unicodeScalars)
        let plain = !address.isEmpty && address.unicodeScalars.count <= 255 && address.unicodeScalars.allSatisfy {
            ($0.value < 0x7f && (CharacterSetASCII.isAlphanumeric($0) || atext.contains($0))) || $0 == "@"
        } && address.filter({ $0 == "@" }).count <= 1
        return plain ? address : quoted(String(String.UnicodeScalarView(address.unicodeScalars.prefix(255))))
    }

    static func quoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"", "\\": out += "\\\(scalar)"
            case _ where scalar.value < 0x20 || scalar.value == 0x7f: out += " "
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
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

enum CharacterSetASCII {
    static func isAlphanumeric(_ s: Unicode.Scalar) -> Bool {
        (0x30...0x39).contains(s.value) || (0x41...0x5a).contains(s.value) || (0x61...0x7a).contains(s.value)
    }
}
