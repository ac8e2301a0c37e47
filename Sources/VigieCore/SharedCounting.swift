import Synchronization

/// Counting that several hosts share (issue 12): one total per account whichever
/// host the member sends through, decided where the totals are.
///
/// `SendPolicy` consults it at RCPT (`check`, which counts nothing but a first
/// refusal) and at end of message (`commit`, which decides again with the final
/// recipient count and counts only accepted mail), exactly where it would count in
/// memory. Without one (`sharedCounting: nil`, the SQLite host) the policy counts
/// in its shards as it always has, and nothing of this runs.
///
/// When a call fails the policy decides on its own counters instead (the same
/// limits, this host's share of the traffic): never accepted without a decision.
/// What it counts alone is kept (`SharedCountingState`) and added to the shared
/// totals with `add` once `probe` answers again.
///
/// Implementations block on the network: each call must return, or throw, within
/// the bound the caller configured (`[store] redis_timeout`).
public protocol SharedCounting: Sendable {
    /// RCPT: would the message fit? `countsRefusal` marks the message's first refusal,
    /// which counts towards `question.refusalThreshold` refusals in a row.
    func check(_ question: SharedCountQuestion, countsRefusal: Bool) throws -> SharedCount
    /// End of message: decides again, and counts the message in every window if accepted.
    func commit(_ question: SharedCountQuestion, countsRefusal: Bool) throws -> SharedCount
    /// Adds what this host counted alone while the shared totals were out of reach.
    func add(account: AccountName, messages: Int, recipients: Int, burstWindow: Int64) throws
    /// Forgets the account's shared totals (an admin's unlock or reset).
    func forget(account: AccountName) throws
    /// Succeeds once the shared totals can be reached again.
    func probe() throws
}

/// What a shared decision is asked about.
public struct SharedCountQuestion: Sendable {
    public var account: AccountName
    public var recipients: Int
    public var limits: LimitMaxima
    /// The burst window's length in milliseconds.
    public var burstWindow: Int64
    /// `[burst] refusals_in_a_row`, nil when off.
    public var refusalThreshold: Int?
}

/// What the shared totals decided, and the totals it decided on (the notice's
/// "you can send again at" is worked out from them, on the authority's clock).
public struct SharedCount: Sendable, Equatable {
    public enum Verdict: Sendable, Equatable {
        /// Fits: at a commit, counted.
        case accept
        /// Over a `[limits]` window: nothing counted.
        case refuse
        /// Over a `[burst]` window, or the refusals in a row reached: lock the account.
        case burst
    }
    public var verdict: Verdict
    /// Every window after the decision; `lastActivity` is the authority's clock.
    public var counters: AccountCounters

    public init(verdict: Verdict, counters: AccountCounters) {
        self.verdict = verdict
        self.counters = counters
    }
}

/// The policy's side of shared counting: whether it is reachable, and what was
/// counted here alone while it was not.
///
/// Degraded is entered on the first failed call and left only by
/// `SendPolicy.reconcileSharedCounts()` (the daemon's probe, about once a second):
/// while degraded no decision waits on the network at all, so a hung server costs
/// one timeout, not one per message.
final class SharedCountingState: Sendable {
    let authority: any SharedCounting
    private let degraded = Atomic<Bool>(false)
    /// Accepted while degraded, per account: added to the shared totals on recovery.
    let pending = Mutex<[AccountName: PendingCounts]>([:])

    struct PendingCounts: Sendable, Equatable {
        var messages = 0
        var recipients = 0
    }

    init(authority: any SharedCounting) {
        self.authority = authority
    }

    var isDegraded: Bool { degraded.load(ordering: .acquiring) }

    /// Returns true when this call is the one that entered degraded mode.
    func enterDegraded() -> Bool { !degraded.exchange(true, ordering: .acquiringAndReleasing) }

    func leaveDegraded() { degraded.store(false, ordering: .releasing) }

    func remember(account: AccountName, recipients: Int) {
        remember(account: account, counts: PendingCounts(messages: 1, recipients: max(0, recipients)))
    }

    func remember(account: AccountName, counts: PendingCounts) {
        pending.withLock { table in
            table[account, default: PendingCounts()].messages += counts.messages
            table[account, default: PendingCounts()].recipients += counts.recipients
        }
    }
}
