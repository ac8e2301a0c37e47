/// How one message moved an account's suspicion score, and why: the line
/// `vigiectl explain` prints and the admin mail quotes.
public struct SuspicionAssessment: Sendable, Equatable, Codable {
    public var at: UnixTime
    /// The Postfix queue id of the message (evidence for a suspicion lock).
    public var queueID: String?
    /// Added by this message.
    public var points: Float
    /// The score after it.
    public var score: Float
    public var network: NetworkPrefix?
    public var networkFamiliarity: Familiarity
    public var unknownRecipients: Int
    public var recipients: Int
    public var unknownDomains: Int
    public var domains: Int
    /// This hour's messages against the usual hourly volume (1 without a habit yet).
    public var hourlyRatio: Float
    /// The hour of day (UTC) when it is outside the account's habit.
    public var unusualHour: Int?
    /// New networks used today, this one included.
    public var newNetworksToday: Int
    /// 0...1: how much of the learning period the history has behind it.
    public var maturity: Float

    public enum Familiarity: String, Sendable, Codable {
        case established, nearby, new
        /// No client address: the host itself (local sendmail), or none given.
        case host
    }

    /// One line: `new network 198.51.100.0/24, 14 of 15 recipients unknown, 9x usual hourly volume`.
    public var reasons: String {
        var parts: [String] = []
        switch networkFamiliarity {
        case .new: parts.append("new network \(network.map(\.description) ?? "?")")
        case .nearby: parts.append("nearby network \(network.map(\.description) ?? "?")")
        case .established, .host: break
        }
        if newNetworksToday >= 2 { parts.append("\(newNetworksToday) new networks today") }
        if recipients > 0 && unknownRecipients > 0 { parts.append("\(unknownRecipients) of \(recipients) recipients unknown") }
        if domains > 0 && unknownDomains > 0 { parts.append("\(unknownDomains) of \(domains) domains unknown") }
        if hourlyRatio >= 4 { parts.append("\(Int(hourlyRatio.rounded()))x usual hourly volume") }
        if let unusualHour { parts.append("unusual hour (\(unusualHour < 10 ? "0" : "")\(unusualHour)h UTC)") }
        if maturity < 1 { parts.append("history \(Int((maturity * 100).rounded()))% learnt") }
        return parts.isEmpty ? "nothing unusual" : parts.joined(separator: ", ")
    }

    /// `score 104 (+9.5): new network ...`
    public var summary: String {
        "score \(Int(score.rounded())) (+\(Self.format(points))): \(reasons)"
    }

    static func format(_ value: Float) -> String {
        let tenths = Int((value * 10).rounded())
        return "\(tenths / 10).\(abs(tenths % 10))"
    }
}
