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
        var pairs = ["client-ip=\(AuthenticationResults.propertyValue(spf.clientIP))"]
        if spf.identity == .mailFrom {
            pairs.append("envelope-from=\(AuthenticationResults.quoted(spf.checkedAddress))")
        }
        pairs.append("helo=\(AuthenticationResults.propertyValue(spf.helo))")
        pairs.append("receiver=\(AuthenticationResults.propertyValue(receiver))")
        pairs.append("identity=\(spf.identity.rawValue)")
        return "\(spf.result.rawValue) \(AuthenticationResults.comment(explanation))\n\t" + pairs.joined(separator: "; ") + ";"
    }
}
