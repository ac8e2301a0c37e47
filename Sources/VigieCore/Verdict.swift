/// What the policy says about one message from a member.
///
/// Outcomes are values: being over a limit is the policy working, not an error.
public enum Verdict: Sendable, Equatable {
    /// Within every limit; on commit, the message is counted.
    case accept
    /// Over a limit: refuse for now and tell the member why.
    case overLimit(LimitBreach)
    /// The account was already locked: refuse permanently with the lock notice.
    case locked(AccountLock)
    /// This message tripped the burst rule: the account is now locked (durably), and
    /// the message itself should be kept as evidence (quarantined), not delivered.
    case lockedNow(AccountLock, BurstTrigger)
    /// No decision could be made within its bound (the group directory did not
    /// answer in time): refuse for now, count nothing. Never an accept: a message
    /// Vigie could not judge must not leave as if it had been.
    case undecided(UndecidedReason)
}

/// Why the policy could not decide a message.
public enum UndecidedReason: String, Sendable, Equatable {
    /// The account's Unix groups (NSS: LDAP through nslcd or sssd) did not come
    /// back within `[daemon] decision_timeout`, or NSS reported an error: which
    /// limits apply is unknown, and the base limits could be the wrong ones either way.
    case groupLookup = "group lookup failed"
    /// The account had left memory (`[daemon] resident_accounts`) and the store
    /// did not give its counters back: deciding on zero would forget what it sent.
    case storedState = "saved state unreadable"
}

/// Which limit a message would break, with what the notice needs to explain it.
public struct LimitBreach: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        case window(LimitMetric, LimitWindow)
        case recipientsPerMessage
    }
    public var kind: Kind
    public var limit: Int
    /// How many were already sent in the window (estimated), or the recipients of
    /// this message for the per-message cap.
    public var count: Int
    /// When this message would fit again; nil when it never will (too many
    /// recipients for one message whatever the time).
    public var retryAt: UnixTime?

    public init(kind: Kind, limit: Int, count: Int, retryAt: UnixTime?) {
        self.kind = kind
        self.limit = limit
        self.count = count
        self.retryAt = retryAt
    }
}

/// What made the burst rule lock an account.
public enum BurstTrigger: Sendable, Equatable, CustomStringConvertible {
    case messages(count: Int, limit: Int, window: Duration)
    case recipients(count: Int, limit: Int, window: Duration)
    case refusalsInARow(Int)
    /// The suspicion score reached the lock threshold: not a burst of volume, but
    /// mail that does not look like the member's (new network, strangers, odd hours).
    /// (Indirect: the assessment is large, and every `Verdict` carries a trigger;
    /// inline it made each verdict comparison copy it, callgrind.)
    indirect case suspicion(SuspicionAssessment, lock: Int)

    public var description: String {
        switch self {
        case .messages(let count, let limit, let window):
            "burst: \(count) messages in \(window.humanReadable) (threshold \(limit))"
        case .recipients(let count, let limit, let window):
            "burst: \(count) recipients in \(window.humanReadable) (threshold \(limit))"
        case .refusalsInARow(let count):
            "burst: \(count) attempts refused for a limit in a row"
        case .suspicion(let assessment, let lock):
            "suspicion score \(Int(assessment.score.rounded())) reached \(lock): \(assessment.reasons)"
        }
    }
}

extension Duration {
    /// "10m", "1h", "90s": the same notation the configuration uses.
    public var humanReadable: String {
        let seconds = milliseconds / 1000
        if seconds % 86_400 == 0 && seconds > 0 { return "\(seconds / 86_400)d" }
        if seconds % 3600 == 0 && seconds > 0 { return "\(seconds / 3600)h" }
        if seconds % 60 == 0 && seconds > 0 { return "\(seconds / 60)m" }
        return "\(seconds)s"
    }
}
