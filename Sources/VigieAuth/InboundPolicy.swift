import VigieReply

/// What to do with a message from the internet for a given SPF result.
public enum InboundAction: String, Sendable, Hashable, CaseIterable {
    /// Deliver, with the result in Authentication-Results (and Received-SPF).
    case tag
    /// Refuse for good (`550 5.7.23`, RFC 7372).
    case reject
    /// Refuse for now (`451 4.7.24`): the sender's server retries.
    case tempfail
}

/// The per-result SPF policy. DKIM results are reported, never enforced here
/// (DMARC would be the place to act on them).
public struct InboundPolicy: Sendable, Hashable {
    public var spf: [SPFResult: InboundAction]

    /// Tag everything except a temporary DNS failure, which is tempfailed: the
    /// sender retries and the check usually passes then. SPF fail is tagged by
    /// default (forwarding without SRS breaks SPF); set it to `reject` when sure.
    public static let `default` = InboundPolicy(spf: [.temperror: .tempfail])

    public init(spf: [SPFResult: InboundAction] = [:]) {
        self.spf = spf
    }

    public func action(for result: SPFResult) -> InboundAction {
        // A pass or none is never refused, whatever the table says.
        if result == .pass || result == .none { return .tag }
        return spf[result] ?? .tag
    }

    public func decide(_ spf: SPFOutcome?) -> InboundDecision {
        guard let spf else { return .deliver }
        switch action(for: spf.result) {
        case .tag: return .deliver
        case .reject, .tempfail: return .refuse(InboundReplyTable.reply(for: spf, action: action(for: spf.result)))
        }
    }
}

public enum InboundDecision: Sendable, Equatable {
    case deliver
    case refuse(SMTPReply)
}

/// The one table from SPF refusal to SMTP reply (RFC 7372 enhanced codes).
public enum InboundReplyTable {
    public static func reply(for spf: SPFOutcome, action: InboundAction) -> SMTPReply {
        let domain = ReplyText.sanitizeValue(spf.identity == .helo ? spf.helo : domainPart(of: spf.checkedAddress))
        let ip = ReplyText.sanitizeValue(spf.clientIP)
        switch (action, spf.result) {
        case (.tempfail, _):
            return SMTPReply(code: "451", enhancedCode: "4.7.24",
                             lines: [ReplyText.finishLine("SPF check for \(domain) could not be completed, try again later")])
        case (_, .permerror):
            return SMTPReply(code: "550", enhancedCode: "5.7.24",
                             lines: [ReplyText.finishLine("SPF record of \(domain) is invalid (permerror)")])
        default:
            return SMTPReply(code: "550", enhancedCode: "5.7.23",
                             lines: [ReplyText.finishLine("SPF \(spf.result.rawValue): \(domain) does not allow \(ip) to send its mail")])
        }
    }

    static func domainPart(of address: String) -> String {
        address.lastIndex(of: "@").map { String(address[address.index(after: $0)...]) } ?? address
    }
}
