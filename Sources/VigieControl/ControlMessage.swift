import VigieCore

/// The control protocol's version, carried by every request and answer: a vigiectl
/// and a daemon from different releases say so instead of misreading each other.
public enum ControlProtocol {
    public static let version = 1

    /// A message of another version, or without one (a vigiectl older than versions).
    public struct UnsupportedVersion: Error, CustomStringConvertible {
        public let version: Int?
        public var description: String {
            "control protocol version \(version.map(String.init) ?? "missing"): this side speaks version \(ControlProtocol.version) (vigiectl and vigie from different releases?)"
        }
    }
}

/// A request from `vigiectl` to the daemon: one JSON object per connection.
///
/// An enum with what each command needs, so a request missing its account or its
/// reason cannot be built, nor decoded: the daemon answers such bytes "malformed
/// request" before any handler sees them.
///
/// The daemon learns who is asking from the socket's peer credentials, never from
/// the request: the audit trail's "who" cannot be forged by a client.
public enum ControlRequest: Sendable, Equatable {
    case status
    /// Locks in force and the busiest senders (`top` of them).
    case list(top: Int)
    case show(account: String)
    case lock(account: String, reason: String)
    case unlock(account: String, reason: String)
    case reset(account: String, reason: String?)
    /// Re-reads the configuration; a bad file is refused and the running one stays.
    case reload
    /// Records that an admin ran postsuper (hold, release, purge) on an account's evidence.
    case recordQueueAction(account: String, action: QueueAction, queueIDs: [String], reason: String?)
    /// The last decisions that moved an account's suspicion score.
    case explain(account: String)
    /// Records `network` (`198.51.100.0/24`, `2001:db8:1::/48` or one address) as the
    /// account's own (audited).
    case trust(account: String, network: String, reason: String)

    /// The postsuper actions the audit trail records.
    public enum QueueAction: String, Codable, Sendable, CaseIterable {
        case hold, release, purge

        public var auditAction: AuditEvent.Action {
            switch self {
            case .hold: .hold
            case .release: .release
            case .purge: .purge
            }
        }
    }

    /// The command's name on the wire and in the daemon's log.
    public var command: String {
        switch self {
        case .status: "status"
        case .list: "list"
        case .show: "show"
        case .lock: "lock"
        case .unlock: "unlock"
        case .reset: "reset"
        case .reload: "reload"
        case .recordQueueAction: "record-queue-action"
        case .explain: "explain"
        case .trust: "trust"
        }
    }
}

extension ControlRequest: Codable {
    private enum Key: String, CodingKey {
        case version, command, account, reason, top, queueAction, queueIDs, network
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: Key.self)
        let version = try c.decodeIfPresent(Int.self, forKey: .version)
        guard version == ControlProtocol.version else { throw ControlProtocol.UnsupportedVersion(version: version) }
        let command = try c.decode(String.self, forKey: .command)
        func account() throws -> String { try c.decode(String.self, forKey: .account) }
        func reason() throws -> String { try c.decode(String.self, forKey: .reason) }
        switch command {
        case "status": self = .status
        case "list": self = .list(top: try c.decodeIfPresent(Int.self, forKey: .top) ?? 10)
        case "show": self = .show(account: try account())
        case "lock": self = .lock(account: try account(), reason: try reason())
        case "unlock": self = .unlock(account: try account(), reason: try reason())
        case "reset": self = .reset(account: try account(), reason: try c.decodeIfPresent(String.self, forKey: .reason))
        case "reload": self = .reload
        case "record-queue-action":
            self = .recordQueueAction(account: try account(), action: try c.decode(QueueAction.self, forKey: .queueAction),
                                      queueIDs: try c.decode([String].self, forKey: .queueIDs),
                                      reason: try c.decodeIfPresent(String.self, forKey: .reason))
        case "explain": self = .explain(account: try account())
        case "trust":
            self = .trust(account: try account(), network: try c.decode(String.self, forKey: .network), reason: try reason())
        default:
            throw DecodingError.dataCorruptedError(forKey: .command, in: c, debugDescription: "unknown command '\(command)'")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Key.self)
        try c.encode(ControlProtocol.version, forKey: .version)
        try c.encode(command, forKey: .command)
        switch self {
        case .status, .reload: break
        case .list(let top): try c.encode(top, forKey: .top)
        case .show(let account), .explain(let account): try c.encode(account, forKey: .account)
        case .lock(let account, let reason), .unlock(let account, let reason):
            try c.encode(account, forKey: .account)
            try c.encode(reason, forKey: .reason)
        case .reset(let account, let reason):
            try c.encode(account, forKey: .account)
            try c.encodeIfPresent(reason, forKey: .reason)
        case .recordQueueAction(let account, let action, let queueIDs, let reason):
            try c.encode(account, forKey: .account)
            try c.encode(action, forKey: .queueAction)
            try c.encode(queueIDs, forKey: .queueIDs)
            try c.encodeIfPresent(reason, forKey: .reason)
        case .trust(let account, let network, let reason):
            try c.encode(account, forKey: .account)
            try c.encode(network, forKey: .network)
            try c.encode(reason, forKey: .reason)
        }
    }
}

/// The daemon's answer: one case per kind of answer, each with what it carries.
public enum ControlResponse: Sendable, Equatable {
    /// The request was refused or failed; the one line says why.
    case failure(String)
    case status(DaemonStatus)
    case list(locks: [AccountLock], topSenders: [SenderActivity])
    case report(AccountReport)
    /// A lock taken or ended, and the line to print.
    case lockChanged(AccountLock, message: String)
    /// Done; the line to print (reload, reset, trust, a recorded queue action).
    case done(String)
    /// For `explain`: the score's moves, oldest first, and where it stands.
    case explanation(moves: [SuspicionAssessment], detection: DetectionReport)
}

extension ControlResponse {
    /// The line to print for answers that carry one (a lock changed, or done).
    public var line: String? {
        switch self {
        case .lockChanged(_, let message), .done(let message): message
        default: nil
        }
    }
}

extension ControlResponse: Codable {
    private enum Key: String, CodingKey {
        case version, kind, error, status, locks, topSenders, report, lock, message, explanations, detection
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: Key.self)
        let version = try c.decodeIfPresent(Int.self, forKey: .version)
        guard version == ControlProtocol.version else { throw ControlProtocol.UnsupportedVersion(version: version) }
        let kind = try c.decode(String.self, forKey: .kind)
        switch kind {
        case "failure": self = .failure(try c.decode(String.self, forKey: .error))
        case "status": self = .status(try c.decode(DaemonStatus.self, forKey: .status))
        case "list":
            self = .list(locks: try c.decode([AccountLock].self, forKey: .locks),
                         topSenders: try c.decode([SenderActivity].self, forKey: .topSenders))
        case "report": self = .report(try c.decode(AccountReport.self, forKey: .report))
        case "lock-changed":
            self = .lockChanged(try c.decode(AccountLock.self, forKey: .lock), message: try c.decode(String.self, forKey: .message))
        case "done": self = .done(try c.decode(String.self, forKey: .message))
        case "explanation":
            self = .explanation(moves: try c.decode([SuspicionAssessment].self, forKey: .explanations),
                                detection: try c.decode(DetectionReport.self, forKey: .detection))
        default:
            throw DecodingError.dataCorruptedError(forKey: .kind, in: c, debugDescription: "unknown answer '\(kind)'")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Key.self)
        try c.encode(ControlProtocol.version, forKey: .version)
        switch self {
        case .failure(let message):
            try c.encode("failure", forKey: .kind)
            try c.encode(message, forKey: .error)
        case .status(let status):
            try c.encode("status", forKey: .kind)
            try c.encode(status, forKey: .status)
        case .list(let locks, let topSenders):
            try c.encode("list", forKey: .kind)
            try c.encode(locks, forKey: .locks)
            try c.encode(topSenders, forKey: .topSenders)
        case .report(let report):
            try c.encode("report", forKey: .kind)
            try c.encode(report, forKey: .report)
        case .lockChanged(let lock, let message):
            try c.encode("lock-changed", forKey: .kind)
            try c.encode(lock, forKey: .lock)
            try c.encode(message, forKey: .message)
        case .done(let message):
            try c.encode("done", forKey: .kind)
            try c.encode(message, forKey: .message)
        case .explanation(let moves, let detection):
            try c.encode("explanation", forKey: .kind)
            try c.encode(moves, forKey: .explanations)
            try c.encode(detection, forKey: .detection)
        }
    }
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
