/// What `vigiectl show` prints about one account: a value, so the control protocol
/// can carry it as JSON.
public struct AccountReport: Sendable, Codable, Equatable {
    public struct Usage: Sendable, Codable, Equatable {
        public var metric: String
        public var window: String
        /// Estimated count in the sliding window.
        public var used: Int
        /// Nil when unlimited.
        public var limit: Int?
        /// Where the limit comes from: `default`, `group NAME`, `account`.
        public var source: String
    }
    public var account: String
    public var exempt: Bool
    public var groups: [String]
    public var usage: [Usage]
    public var recipientsPerMessage: Int?
    public var recipientsPerMessageSource: String
    public var refusalsInARow: Int
    public var lock: AccountLock?
    public var history: [AuditEvent]
    public var evidence: [LockEvidence]
    /// The suspicion score and what it is measured against; nil when detection is off.
    public var detection: DetectionReport?
}

/// One line of `vigiectl list`'s top senders.
public struct SenderActivity: Sendable, Codable, Equatable {
    public var account: String
    public var messagesLastHour: Int
    public var recipientsLastHour: Int
    public var messagesLastDay: Int
    public var locked: Bool
}
