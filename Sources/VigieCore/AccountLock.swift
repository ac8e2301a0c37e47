/// Why and by whom an account was locked or unlocked.
public struct AccountLock: Sendable, Equatable, Codable {
    public var account: String
    public var lockedAt: UnixTime
    /// `vigie` for an automatic lock, else the admin's login.
    public var actor: String
    public var reason: String
    /// Set once the lock is stored; nil for a lock not yet written.
    public var id: Int64?

    public init(account: AccountName, lockedAt: UnixTime, actor: String, reason: String, id: Int64? = nil) {
        self.account = account.value
        self.lockedAt = lockedAt
        self.actor = actor
        self.reason = reason
        self.id = id
    }
}

extension UnixTime: Codable {
    public init(from decoder: Decoder) throws {
        self.init(milliseconds: try decoder.singleValueContainer().decode(Int64.self))
    }
    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(milliseconds)
    }
}

/// One line of the audit trail: every lock, unlock, reset and queue action.
public struct AuditEvent: Sendable, Equatable, Codable {
    public enum Action: String, Sendable, Codable {
        case lock, unlock, reset, hold, release, purge
        /// `vigiectl trust`: a network recorded as the account's own.
        case trust
        /// The suspicion score reached the watch threshold.
        case watch
    }
    public var at: UnixTime
    public var account: String
    public var action: Action
    public var actor: String
    public var reason: String

    public init(at: UnixTime, account: String, action: Action, actor: String, reason: String) {
        self.at = at
        self.account = account
        self.action = action
        self.actor = actor
        self.reason = reason
    }
}

/// A message recorded as evidence of a lock: accepted during the burst window, or
/// the message that tripped the lock (already in Postfix's hold queue).
public struct LockEvidence: Sendable, Equatable, Codable {
    public var lockID: Int64
    public var queueID: String
    public var acceptedAt: UnixTime
    /// True for the message Vigie itself quarantined.
    public var tripped: Bool

    public init(lockID: Int64, queueID: String, acceptedAt: UnixTime, tripped: Bool) {
        self.lockID = lockID
        self.queueID = queueID
        self.acceptedAt = acceptedAt
        self.tripped = tripped
    }
}
