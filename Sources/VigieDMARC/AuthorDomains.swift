/// The author domains of a message: the domains of the addresses in its From
/// field(s) (RFC 7489 §6.6.1, "RFC5322.From domain").
///
/// RFC 5322 wants exactly one From field; a field may hold several addresses (then
/// with a Sender field). RFC 7489 §6.6.1 says to evaluate each domain of a
/// multi-valued From and apply the strictest policy among those that fail, and
/// leaves messages with no From or several From fields out of scope ("typically
/// rejected"). Vigie's choice:
/// - several addresses, or several From fields: every distinct domain is
///   evaluated and the strictest failing policy decides. A second From field is a
///   known way past DMARC (a filter reads one field, the reader's program shows the
///   other), so it is judged like a multi-valued From rather than dropped;
/// - no From field, or none of its addresses has a usable domain (a group with no
///   members, a domain literal, garbage): permerror, which is reported and never
///   acted on: there is no domain whose policy could be applied;
/// - more than `maximumDomains` distinct domains: permerror too, without a DNS
///   lookup (each domain costs up to two): a bound on the work one message causes.
///
/// The parser is lenient (obsolete syntax, unterminated quotes) and linear in the
/// field's length: display names, quoted strings and comments are skipped, the
/// address is the `<...>` part when there is one, and the domain is what follows
/// its last `@` outside quotes, white space removed.
public enum AuthorDomains {
    public static let maximumDomains = 5

    public enum Extraction: Sendable, Hashable {
        /// Distinct normalised domains in order of appearance; `fields` From fields.
        case domains([String], fields: Int)
        /// permerror, and why.
        case unusable(String)
    }

    /// `fieldValues`: the values of every From field of the message, in order.
    public static func extract(fromFieldValues fieldValues: [String]) -> Extraction {
        guard !fieldValues.isEmpty else { return .unusable("no From field") }
        var domains: [String] = []
        for value in fieldValues {
            for domain in addressDomains(in: value) where !domains.contains(domain) {
                domains.append(domain)
                if domains.count > maximumDomains {
                    return .unusable("From names more than \(maximumDomains) domains")
                }
            }
        }
        guard !domains.isEmpty else {
            return .unusable(fieldValues.count > 1 ? "\(fieldValues.count) From fields, no usable address" : "From field without a usable address")
        }
        return .domains(domains, fields: fieldValues.count)
    }

    /// The normalised domains of the addresses in one From field value; addresses
    /// without a usable domain are left out.
    static func addressDomains(in value: String) -> [String] {
        var domains: [String] = []
        var bare: [UInt8] = []       // outside <>, quotes and comments
        var angle: [UInt8] = []      // inside <>
        var sawAngle = false
        var inQuote = false
        var inAngle = false
        var commentDepth = 0
        var escaped = false

        func endAddress() {
            let source = sawAngle ? angle : bare
            if let at = source.lastIndex(of: UInt8(ascii: "@")) {
                let domainBytes = source[(at + 1)...].filter { $0 != 0x20 && $0 != 0x09 && $0 != 0x0D && $0 != 0x0A }
                if let domain = DomainName.normalized(String(decoding: domainBytes, as: UTF8.self)) {
                    domains.append(domain)
                }
            }
            bare.removeAll(keepingCapacity: true)
            angle.removeAll(keepingCapacity: true)
            sawAngle = false
            inAngle = false
        }

        for byte in value.utf8 {
            if escaped { escaped = false; continue }
            if commentDepth > 0 {
                switch byte {
                case UInt8(ascii: "\\"): escaped = true
                case UInt8(ascii: "("): commentDepth += 1
                case UInt8(ascii: ")"): commentDepth -= 1
                default: break
                }
                continue
            }
            if inQuote {
                switch byte {
                case UInt8(ascii: "\\"): escaped = true
                case UInt8(ascii: "\""): inQuote = false
                default: break
                }
                continue
            }
            switch byte {
            case UInt8(ascii: "\""): inQuote = true
            case UInt8(ascii: "("): commentDepth = 1
            case UInt8(ascii: "<") where !inAngle:
                inAngle = true
                sawAngle = true
                angle.removeAll(keepingCapacity: true)
            case UInt8(ascii: ">") where inAngle: inAngle = false
            case UInt8(ascii: ",") where !inAngle, UInt8(ascii: ";") where !inAngle: endAddress()
            // A group's display name ("Team: a@x, b@y;", RFC 6854) is no address.
            case UInt8(ascii: ":") where !inAngle: bare.removeAll(keepingCapacity: true)
            default:
                if inAngle { angle.append(byte) } else if !sawAngle { bare.append(byte) }
            }
        }
        endAddress()
        return domains
    }
}
