// Fakes for SendPolicy's dependencies, after Tests/VigieCoreTests/Support: the hot
// path (check + commit of an accepted message) never reaches the store, so a store
// that keeps locks in memory and drops counters is enough.

import Foundation
import Synchronization
import VigieCore

/// The daemon's clock (VigieDaemon.SystemTimeSource), copied so the benchmark pays
/// the same `Date()` call per decision that the daemon does.
public struct WallClock: TimeSource {
    public init() {}
    public func now() -> UnixTime {
        UnixTime(milliseconds: Int64((Date().timeIntervalSince1970 * 1000).rounded(.down)))
    }
}

/// A `StateStore` in memory. Counters are dropped (no flusher runs in the benchmark).
public final class NullStateStore: StateStore {
    private let nextLockID = Mutex<Int64>(1)
    public init() {}
    public func activeLocks() throws -> [AccountLock] { [] }
    public func recordLock(_ lock: AccountLock, evidence: [(queueID: String, acceptedAt: UnixTime)]) throws -> AccountLock {
        var stored = lock
        stored.id = nextLockID.withLock { id in defer { id += 1 }; return id }
        return stored
    }
    public func addEvidence(_ evidence: LockEvidence) throws {}
    public func recordUnlock(account: AccountName, at: UnixTime, actor: String, reason: String) throws -> AccountLock? { nil }
    public func recordAudit(_ event: AuditEvent) throws {}
    public func auditTrail(account: AccountName) throws -> [AuditEvent] { [] }
    public func evidence(account: AccountName) throws -> [LockEvidence] { [] }
    public func loadCounters() throws -> [(AccountName, AccountCounters)] { [] }
    public func saveCounters(_ changes: [(AccountName, AccountCounters?)]) throws {}
    public func loadHistories() throws -> [(AccountName, SendingHistory)] { [] }
    public func saveHistories(_ changes: [(AccountName, SendingHistory?)]) throws {}
    public func loadAccount(_ account: AccountName) throws -> StoredAccount { StoredAccount() }
}

public enum BenchPolicy {
    /// Limits that are finite (so every window's arithmetic runs, as with the shipped
    /// config) but far too high to refuse anything in a benchmark run.
    public static let neverReached = 1_000_000_000

    public static func limits() -> SendLimitsLayer {
        let windows: [LimitWindow: LimitValue] = Dictionary(uniqueKeysWithValues: LimitWindow.allCases.map { ($0, .maximum(neverReached)) })
        return SendLimitsLayer(messages: windows, recipients: windows, recipientsPerMessage: .maximum(1000))
    }

    /// The shipped [burst] rule's shape (volume and persistence signals on), with
    /// thresholds that never trip; `burst: false` turns the rule off entirely.
    public static func settings(burst: Bool) -> PolicySettings {
        let rule = burst
            ? BurstRule(messages: neverReached, recipients: neverReached, window: .seconds(600), refusalsInARow: 10)
            : BurstRule.disabled
        return PolicySettings(
            limits: LimitPolicy(defaults: limits()), burst: rule,
            exemptions: Exemptions(accounts: [AccountName(normalized: "root")], recipients: ["postmaster", "abuse"]))
    }

    /// The shipped defaults (conf/vigie.toml): what a real host keeps per account.
    public static let shipped = PolicySettings(
        limits: LimitPolicy(defaults: SendLimitsLayer(
            messages: [.minute: .maximum(20), .hour: .maximum(150), .day: .maximum(500)],
            recipients: [.minute: .maximum(100), .hour: .maximum(500), .day: .maximum(1500)],
            recipientsPerMessage: .maximum(50))),
        burst: BurstRule(messages: 40, recipients: 400, window: .seconds(600), refusalsInARow: 10),
        exemptions: Exemptions(accounts: [AccountName(normalized: "root")], recipients: ["postmaster", "abuse"]))

    /// The shipped defaults with the shipped [detection] (suspicion score on).
    public static let shippedWithDetection: PolicySettings = {
        var settings = shipped
        settings.detection = DetectionSettings()
        return settings
    }()

    public static func policy(_ settings: PolicySettings) -> SendPolicy {
        SendPolicy(settings: settings, groups: FixedGroupDirectory(), store: NullStateStore(), clock: WallClock())
    }

    public static func accounts(_ count: Int) -> [AccountName] {
        (0..<count).map { AccountName(normalized: "member\($0)") }
    }

    /// One message as the milter glue sends it: decided at RCPT, committed at end of message.
    @inline(__always)
    public static func send(_ policy: SendPolicy, _ account: AccountName, queueID: String) -> Bool {
        guard policy.check(account: account, recipients: 1, countsAsRefusal: true) == .accept else { return false }
        return policy.commit(account: account, recipients: 1, queueID: queueID) == .accept
    }

    /// One message with what the glue gathers for the suspicion score: the client
    /// address parsed, the recipient hashed at RCPT, then both passed to the commit.
    @inline(__always)
    public static func sendWithSignals(_ policy: SendPolicy, _ account: AccountName, queueID: String,
                                       client: String, recipient: String) -> Bool {
        guard policy.check(account: account, recipients: 1, countsAsRefusal: true) == .accept else { return false }
        var signals = MessageSignals(network: NetworkPrefix(clientAddress: client))
        signals.add(recipient: recipient)
        return policy.commit(account: account, recipients: 1, queueID: queueID, signals: signals) == .accept
    }

    /// Every account sends one message, so each has an entry with its limits cached.
    public static func warm(_ policy: SendPolicy, _ accounts: [AccountName]) {
        for account in accounts { _ = send(policy, account, queueID: "4ZXQ1B2C3D") }
    }
}
