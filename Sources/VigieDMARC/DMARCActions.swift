import VigieReply

/// What the inbound role does with a message that fails DMARC under a policy.
public enum DMARCAction: String, Sendable, Hashable, CaseIterable {
    /// Deliver, with the result in Authentication-Results.
    case tag
    /// Keep it in Postfix's hold queue (milter quarantine), for an admin to
    /// release (`postsuper -H`) or delete.
    case hold
    /// Refuse it at end of data (`550 5.7.1`): the sender's server bounces it.
    case reject
}

/// The local choice per requested policy (`[inbound] dmarc_quarantine`,
/// `dmarc_reject`). Tag only by default: a new install first watches what DMARC
/// would do (mailing lists and forwarders break DKIM and SPF alignment), then
/// turns actions on.
public struct DMARCActions: Sendable, Hashable {
    /// For p=quarantine failures: tag or hold.
    public var quarantine: DMARCAction
    /// For p=reject failures: tag, hold or reject.
    public var reject: DMARCAction

    public static let `default` = DMARCActions(quarantine: .tag, reject: .tag)

    public init(quarantine: DMARCAction = .tag, reject: DMARCAction = .tag) {
        self.quarantine = quarantine
        self.reject = reject
    }

    /// What to do with this message.
    ///
    /// pct= (§6.6.4): the receiver "MUST NOT enact the requested policy on more than
    /// the stated percent" of failing mail, and mail left out is handled one step
    /// down (reject as quarantine, quarantine as none). So pct never changes the
    /// result reported (dmarc=fail is written whatever pct says: RFC 7489 reports
    /// all failures regardless of pct), only the action, drawn here from `sample`
    /// (0...99, uniform; the glue draws it, tests pin it). DMARCbis drops pct for a
    /// t= testing flag; honouring pct as RFC 7489 says is what keeps a domain that
    /// is rolling out p=reject at pct=10 from seeing all its mail refused here.
    ///
    /// Nil when nothing failed under p=quarantine or p=reject (or the sample left
    /// the message out of a p=quarantine policy).
    public func decide(_ message: DMARCMessageEvaluation, sample: Int) -> DMARCDecision? {
        guard let failure = message.strictestFailure, let requested = failure.requestedPolicy, requested != .none else {
            return nil
        }
        let percentage = failure.record?.percentage ?? 100
        let sampledOut = sample >= percentage
        let enacted: DMARCPolicy = switch (requested, sampledOut) {
        case (_, false): requested
        case (.reject, true): .quarantine
        case (_, true): .none
        }
        let action: DMARCAction = switch enacted {
        case .none: .tag
        case .quarantine: quarantine == .reject ? .hold : quarantine
        case .reject: reject
        }
        return DMARCDecision(action: action, requestedPolicy: requested, enactedPolicy: enacted, sampledOut: sampledOut,
                             authorDomain: failure.authorDomain)
    }
}

/// The action for one message, and why.
public struct DMARCDecision: Sendable, Hashable {
    public var action: DMARCAction
    /// p= or sp=, as the domain asks.
    public var requestedPolicy: DMARCPolicy
    /// What pct= left of it (`requestedPolicy` unless sampled out).
    public var enactedPolicy: DMARCPolicy
    public var sampledOut: Bool
    public var authorDomain: String

    public init(action: DMARCAction, requestedPolicy: DMARCPolicy, enactedPolicy: DMARCPolicy, sampledOut: Bool, authorDomain: String) {
        self.action = action
        self.requestedPolicy = requestedPolicy
        self.enactedPolicy = enactedPolicy
        self.sampledOut = sampledOut
        self.authorDomain = authorDomain
    }
}

/// The one DMARC refusal (RFC 7489 §10.3 suggests 5.7.1), in plain words, French
/// first then English like the other replies members and senders read.
public enum DMARCReplyTable {
    public static func reply(for decision: DMARCDecision) -> SMTPReply {
        let domain = ReplyText.sanitizeValue(decision.authorDomain)
        return SMTPReply(code: "550", enhancedCode: "5.7.1", lines: [
            ReplyText.finishLine("Message refusé : le domaine \(domain) de l'expéditeur (From) demande de refuser le courrier qu'il n'a pas authentifié (DMARC p=reject)"),
            ReplyText.finishLine("Message refused: the From domain \(domain) asks that mail it did not authenticate be refused (DMARC p=reject)"),
        ])
    }
}
