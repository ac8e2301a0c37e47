/// Builds the `Received-SPF` header (RFC 7208 §9.1), when configured:
///
///     pass (mx.example.org: domain of alice@example.com designates 192.0.2.1 as permitted sender)
///         client-ip=192.0.2.1; envelope-from="alice@example.com"; helo=mail.example.com;
///         receiver=mx.example.org; identity=mailfrom;
public enum ReceivedSPF {
    public static let headerName = "Received-SPF"

    public static func value(_ spf: SPFOutcome, receiver: String) -> String {
        let subject = spf.identity == .helo ? "host \(spf.helo)" : "domain of \(spf.checkedAddress)"
        let explanation: String = switch spf.result {
        case .pass: "\(receiver): \(subject) designates \(spf.clientIP) as permitted sender"
        case .fail: "\(receiver): \(subject) does not designate \(spf.clientIP) as permitted sender"
        case .softfail: "\(receiver): \(subject) does not designate \(spf.clientIP) as permitted sender (softfail)"
        case .neutral: "\(receiver): \(spf.clientIP) is neither permitted nor denied by \(subject)"
        case .none: "\(receiver): \(subject) does not publish SPF"
        case .temperror: "\(receiver): temporary error checking \(subject)"
        case .permerror: "\(receiver): permanent error in the SPF record of \(subject)"
        }
        // Appended to one byte buffer: as interpolated pairs joined, this header cost
        // more than the Authentication-Results one (callgrind).
        var out: [UInt8] = []
        out.reserveCapacity(320)
        out += spf.result.rawValue.utf8
        out.append(UInt8(ascii: " "))
        AuthenticationResults.appendComment(explanation, to: &out)
        out += "\n\tclient-ip=".utf8
        AuthenticationResults.appendPropertyValue(spf.clientIP, to: &out)
        if spf.identity == .mailFrom {
            out += "; envelope-from=".utf8
            AuthenticationResults.appendQuoted(spf.checkedAddress, scalarLimit: .max, to: &out)
        }
        out += "; helo=".utf8
        AuthenticationResults.appendPropertyValue(spf.helo, to: &out)
        out += "; receiver=".utf8
        AuthenticationResults.appendPropertyValue(receiver, to: &out)
        out += "; identity=".utf8
        out += spf.identity.rawValue.utf8
        out.append(UInt8(ascii: ";"))
        return String(decoding: out, as: UTF8.self)
    }
}
