/// One DMARC policy record (RFC 7489 §6.3), parsed from the TXT text of
/// `_dmarc.<domain>`.
///
/// Only what evaluation needs is kept: p, sp, adkim, aspf, pct, and whether rua=
/// holds a valid URI (which decides what a record without a valid p= means,
/// §6.6.3 step 5). Reports (rua, ruf, fo, rf, ri) are not sent by Vigie.
///
/// Security: the text is hostile (anyone's DNS); parsing is one linear pass over
/// it, never fails, and keeps nothing but the values above.
public struct DMARCRecord: Sendable, Hashable {
    public var policy: DMARCPolicy
    /// sp=, when the record has a valid one; subdomains without their own record
    /// then get it instead of p=.
    public var subdomainPolicy: DMARCPolicy?
    public var dkimAlignment: DMARCAlignmentMode
    public var spfAlignment: DMARCAlignmentMode
    /// pct= (0...100): the share of failing mail the policy is to be enacted on
    /// (§6.6.4). Never changes the result, only the action.
    public var percentage: Int
    /// p= was missing or invalid, and the record is taken as p=none because rua=
    /// holds a valid URI (§6.6.3 step 5).
    public var policyAssumed: Bool

    public init(policy: DMARCPolicy, subdomainPolicy: DMARCPolicy? = nil, dkimAlignment: DMARCAlignmentMode = .relaxed,
                spfAlignment: DMARCAlignmentMode = .relaxed, percentage: Int = 100, policyAssumed: Bool = false) {
        self.policy = policy
        self.subdomainPolicy = subdomainPolicy
        self.dkimAlignment = dkimAlignment
        self.spfAlignment = spfAlignment
        self.percentage = percentage
        self.policyAssumed = policyAssumed
    }

    /// What a TXT string is, as DMARC discovery sees it.
    public enum Parsed: Sendable, Hashable {
        /// Does not start with `v=DMARC1`: not a DMARC record, discarded (§6.6.3 step 2).
        case notDMARC
        case record(DMARCRecord)
        /// A DMARC record without a valid p= or with an invalid sp=, and no valid
        /// rua= to fall back on p=none: no DMARC processing (§6.6.3 step 5), which
        /// Vigie reports as permerror (RFC 8601: "a syntactically incorrect DMARC
        /// record"). The text says what was wrong.
        case invalid(String)
    }

    /// Parses one record (the TXT record's character-strings already concatenated).
    ///
    /// Tag names and p/sp/adkim/aspf values are case-insensitive (RFC 5234 quoted
    /// strings); `DMARC1` must match exactly (§6.3 "v"). Unknown tags are ignored
    /// (§6.3). A bad adkim, aspf or pct falls back to its default (§6.3: "syntax
    /// errors in the remainder of the record SHOULD be discarded in favor of default
    /// values"). A tag given twice keeps its first value.
    public static func parse(_ text: String) -> Parsed {
        var tags = Substring(text).split(separator: ";", omittingEmptySubsequences: false).makeIterator()
        guard let first = tags.next(), let version = tag(first), version.name == "v", version.value == "DMARC1" else {
            return .notDMARC
        }
        var policyText: Substring?
        var subdomainText: Substring?
        var adkim: Substring?
        var aspf: Substring?
        var pct: Substring?
        var rua: Substring?
        while let raw = tags.next() {
            guard let (name, value) = tag(raw) else { continue }
            switch name {
            case "p": if policyText == nil { policyText = value }
            case "sp": if subdomainText == nil { subdomainText = value }
            case "adkim": if adkim == nil { adkim = value }
            case "aspf": if aspf == nil { aspf = value }
            case "pct": if pct == nil { pct = value }
            case "rua": if rua == nil { rua = value }
            default: continue
            }
        }
        var record = DMARCRecord(policy: .none)
        record.dkimAlignment = adkim.flatMap { DMARCAlignmentMode(rawValue: $0.lowercased()) } ?? .relaxed
        record.spfAlignment = aspf.flatMap { DMARCAlignmentMode(rawValue: $0.lowercased()) } ?? .relaxed
        if let pct, pct.count <= 3, pct.utf8.allSatisfy({ (0x30...0x39).contains($0) }), let value = Int(pct), value <= 100 {
            record.percentage = value
        }
        let policy = policyText.flatMap { DMARCPolicy(rawValue: $0.lowercased()) }
        let subdomainPolicy = subdomainText.flatMap { DMARCPolicy(rawValue: $0.lowercased()) }
        var problem: String?
        if policy == nil {
            problem = policyText.map { "invalid p=\(shortened($0))" } ?? "no p= tag"
        } else if subdomainText != nil, subdomainPolicy == nil {
            problem = "invalid sp=\(shortened(subdomainText!))"
        }
        if let problem {
            guard let rua, hasValidURI(rua) else { return .invalid(problem) }
            record.policyAssumed = true
            return .record(record)
        }
        record.policy = policy!
        record.subdomainPolicy = subdomainPolicy
        return .record(record)
    }

    /// `name = value` with white space (WSP, and folded CRLF) around both; nil for
    /// an empty or nameless tag. The name comes back lower-cased.
    private static func tag(_ raw: Substring) -> (name: String, value: Substring)? {
        guard let equals = raw.firstIndex(of: "=") else { return nil }
        let name = trimmed(raw[..<equals])
        guard !name.isEmpty, name.count <= 16 else { return nil }
        return (name.lowercased(), trimmed(raw[raw.index(after: equals)...]))
    }

    private static func trimmed(_ text: Substring) -> Substring {
        func isSpace(_ c: Character) -> Bool { c == " " || c == "\t" || c == "\r" || c == "\n" || c == "\r\n" }
        guard let start = text.firstIndex(where: { !isSpace($0) }), let end = text.lastIndex(where: { !isSpace($0) }) else {
            return text[text.endIndex...]
        }
        return text[start...end]
    }

    /// At least one entry of rua= is a URI (RFC 3986 scheme ":" something, no white
    /// space), ignoring a `!size` suffix (§6.2). Nothing is ever sent to it.
    static func hasValidURI(_ rua: Substring) -> Bool {
        rua.split(separator: ",").contains { entry in
            let uri = trimmed(entry)
            guard let colon = uri.firstIndex(of: ":"), colon != uri.startIndex else { return false }
            let scheme = uri[..<colon].utf8
            let rest = uri[uri.index(after: colon)...]
            func isLetter(_ byte: UInt8) -> Bool { (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte) }
            guard let head = scheme.first, isLetter(head),
                  scheme.allSatisfy({ isLetter($0) || (0x30...0x39).contains($0) || $0 == 0x2B || $0 == 0x2D || $0 == 0x2E })
            else { return false }
            return !rest.isEmpty && !rest.contains(where: { $0 == " " || $0 == "\t" || $0 == "\r" || $0 == "\n" })
        }
    }

    /// A hostile value, short enough for a log line or a header comment.
    private static func shortened(_ value: Substring) -> String {
        value.count <= 20 ? String(value) : String(value.prefix(20)) + "..."
    }
}
