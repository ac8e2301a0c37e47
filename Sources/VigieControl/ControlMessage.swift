import VigieCore

/// A request from `vigiectl` to the daemon: one JSON object per connection.
///
/// The daemon learns who is asking from the socket's peer credentials, never from
/// the request: the audit trail's "who" cannot be forged by a client.
public struct ControlRequest: Codable, Sendable, Equatable {
    public enum Command: String, Codable, Sendable {
        case status, list, show, lock, unlock, reset
        /// Re-reads the configuration; a bad file is refused and the running one stays.
        case reload
        /// Records that an admin ran postsuper on an account's evidence.
        case recordQueueAction = "record-queue-action"
        /// The last decisions that moved an account's suspicion score.
        case explain
        /// Records `network` as the account's own (audited).
        case trust
    }
    public var command: Command
    public var account: String?
    public var reason: String?
    public var top: Int?
    /// For `recordQueueAction`: `hold`, `release` or `purge`.
    public var queueAction: AuditEvent.Action?
    public var queueIDs: [String]?
    /// For `trust`: `198.51.100.0/24`, `2001:db8:1::/48` or one address.
    public var network: String?

    public init(command: Command, account: String? = nil, reason: String? = nil, top: Int? = nil,
                queueAction: AuditEvent.Action? = nil, queueIDs: [String]? = nil, network: String? = nil) {
        self.command = command
        self.account = account
        self.reason = reason
        self.top = top
        self.queueAction = queueAction
        self.queueIDs = queueIDs
        self.network = network
    }
}

/// The daemon's answer. `error` is set (and nothing else) when the request failed.
public struct ControlResponse: Codable, Sendable, Equatable {
    public var error: String?
    public var status: DaemonStatus?
    public var locks: [AccountLock]?
    public var topSenders: [SenderActivity]?
    public var report: AccountReport?
    public var lock: AccountLock?
    public var message: String?
    /// For `explain`: the score's moves, oldest first, and where it stands.
    public var explanations: [SuspicionAssessment]?
    public var detection: DetectionReport?

    public init(error: String? = nil, status: DaemonStatus? = nil, locks: [AccountLock]? = nil,
                topSenders: [SenderActivity]? = nil, report: AccountReport? = nil, lock: AccountLock? = nil,
                message: String? = nil, explanations: [SuspicionAssessment]? = nil, detection: DetectionReport? = nil) {
        self.error = error
        self.status = status
        self.locks = locks
        self.topSenders = topSenders
        self.report = report
        self.lock = lock
        self.message = message
        self.explanations = explanations
        self.detection = detection
    }

    public static func failure(_ message: String) -> ControlResponse { ControlResponse(error: message) }
}

/// What `vigiectl status` shows.
public struct DaemonStatus: Codable, Sendable, Equatable {
    public var version: String
    public var pid: Int32
    public var startedAt: UnixTime
    public var configFiles: [String]
    public var milterSocket: String
    public var statePath: String
    public var trackedAccounts: Int
    public var lockedAccounts: Int
    public var messagesDecided: Int
    public var internalErrors: Int
    /// The state store's last write failed, and how (nil when it works). Optional, as
    /// the two below, so a vigiectl reads an older daemon's answer.
    public var storeError: String?
    /// Locks in force in memory that the store has not written yet (retried every
    /// flush interval; lost at a restart until then).
    public var unstoredLocks: Int?

    public init(version: String, pid: Int32, startedAt: UnixTime, configFiles: [String], milterSocket: String,
                statePath: String, trackedAccounts: Int, lockedAccounts: Int, messagesDecided: Int, internalErrors: Int,
                storeError: String? = nil, unstoredLocks: Int? = nil) {
        self.storeError = storeError
        self.unstoredLocks = unstoredLocks
        self.version = version
        self.pid = pid
        self.startedAt = startedAt
        self.configFiles = configFiles
        self.milterSocket = milterSocket
        self.statePath = statePath
        self.trackedAccounts = trackedAccounts
        self.lockedAccounts = lockedAccounts
        self.messagesDecided = messagesDecided
        self.internalErrors = internalErrors
    }
}

public enum VigieVersion {
    public static let current = "0.1.0"
}
