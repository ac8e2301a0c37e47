import Testing
import VigieCore

extension AccountName {
    static let alice = AccountName(normalized: "alice")
    static let bob = AccountName(normalized: "bob")
    static let gazette = AccountName(normalized: "gazette")
}

extension SendLimitsLayer {
    /// A layer written with plain numbers: `nil` means "this layer says nothing".
    static func numbers(
        messages: [LimitWindow: Int] = [:], recipients: [LimitWindow: Int] = [:], perMessage: Int? = nil
    ) -> SendLimitsLayer {
        SendLimitsLayer(messages: messages.mapValues { .maximum($0) }, recipients: recipients.mapValues { .maximum($0) },
                        recipientsPerMessage: perMessage.map { .maximum($0) })
    }
}

extension PolicySettings {
    /// Only the limits given, no burst rule.
    static func only(_ layer: SendLimitsLayer, burst: BurstRule = .disabled) -> PolicySettings {
        PolicySettings(limits: LimitPolicy(defaults: layer), burst: burst)
    }

    /// What a small community host would configure (the club of CONTEXT.md).
    static let club = PolicySettings(
        limits: LimitPolicy(
            defaults: .numbers(messages: [.minute: 20, .hour: 150, .day: 500],
                               recipients: [.minute: 100, .hour: 500, .day: 1500], perMessage: 50),
            groups: ["newsletter": .numbers(recipients: [.minute: 1000, .hour: 2000, .day: 5000], perMessage: 1000)]
        ),
        burst: BurstRule(messages: 40, recipients: 400, window: .seconds(600), refusalsInARow: 10),
        exemptions: Exemptions(accounts: [AccountName(normalized: "root")], recipients: ["postmaster", "abuse"])
    )
}

/// A policy with every dependency faked, sharing one clock and one store.
struct Harness {
    let clock: ManualClock
    let store: MemoryStateStore
    let events: RecordingEvents
    let groups: MutableGroupDirectory
    let policy: SendPolicy

    init(_ settings: PolicySettings, start: UnixTime = .testStart, memberships: [AccountName: [String]] = [:],
         store: MemoryStateStore = MemoryStateStore(), residentAccounts: Int? = nil) {
        clock = ManualClock(start)
        self.store = store
        events = RecordingEvents()
        groups = MutableGroupDirectory(memberships)
        policy = SendPolicy(settings: settings, groups: groups, store: store, clock: clock, events: events,
                            residentAccounts: residentAccounts)
    }

    /// A second daemon over the same store and clock, as after a restart.
    func restarted(residentAccounts: Int? = nil) -> SendPolicy {
        SendPolicy(settings: policy.settings, groups: groups, store: store, clock: clock, events: events,
                   residentAccounts: residentAccounts)
    }

    /// One message as the milter sees it: decided once at RCPT TO (counting as one
    /// attempt), then committed at end of message if still accepted.
    @discardableResult
    func send(_ account: AccountName, recipients: Int = 1, queueID: String) -> Verdict {
        let verdict = policy.check(account: account, recipients: recipients, countsAsRefusal: true)
        guard verdict == .accept else { return verdict }
        return policy.commit(account: account, recipients: recipients, queueID: queueID)
    }

    /// Estimated usage of one window, as `vigiectl show` reports it.
    func used(_ account: AccountName, _ metric: LimitMetric, _ window: LimitWindow) throws -> Int {
        let report = try policy.report(account: account)
        let usage = try #require(report.usage.first { $0.metric == metric.rawValue && $0.window == window.description })
        return usage.used
    }
}

extension Verdict {
    var isAccept: Bool { self == .accept }
    var breach: LimitBreach? {
        if case .overLimit(let breach) = self { return breach }
        return nil
    }
    var newLock: (lock: AccountLock, trigger: BurstTrigger)? {
        if case .lockedNow(let lock, let trigger) = self { return (lock, trigger) }
        return nil
    }
    var isLocked: Bool {
        if case .locked = self { return true }
        return false
    }
}

