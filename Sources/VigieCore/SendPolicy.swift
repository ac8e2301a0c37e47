import Synchronization

/// The send policy: per-account limits, the burst lock, and the state behind them.
///
/// Thread model: libmilter calls in from many worker threads at once. Accounts are
/// spread over `shardCount` shards, each behind its own mutex, so two members
/// sending at once rarely wait on each other and no global lock sits on the hot
/// path. Anything slow (NSS group lookups, SQLite writes) happens outside the shard
/// mutexes.
///
/// Security: the account name is trusted to come from Postfix (SASL login or local
/// sender); the policy never parses message content.
/// Known limitations: windows are sliding-window estimates (see SlidingWindowCount);
/// recently accepted queue ids are kept in memory only, so after a restart the
/// evidence of a new lock covers only what was accepted since the restart.
public final class SendPolicy: Sendable {
    /// The settings in force, replaced as a whole by `reload(settings:)`, so a
    /// decision never sees half of an old and half of a new configuration; read
    /// without a lock (ReloadableValue).
    private let current: ReloadableValue<Configured>

    final class Configured: Sendable {
        let settings: PolicySettings
        /// Bumped at each reload: cached per-account limits from an older
        /// generation are resolved again.
        let generation: Int
        // What every decision reads, worked out once per reload: reading them through
        // `settings` copied the whole settings value (and its references) and redid
        // Duration arithmetic on each decision (callgrind, benchmarks/).
        let burstWindow: Int64
        let groupCacheLifetime: Int64
        let refusalsInARow: Int?
        let burstWindowDuration: Duration
        let exemptions: Exemptions
        let hasGroupOverrides: Bool
        let detection: DetectionSettings

        init(settings: PolicySettings, generation: Int) {
            self.settings = settings
            self.generation = generation
            self.burstWindow = SendPolicy.burstWindow(settings)
            self.groupCacheLifetime = settings.groupCacheLifetime.milliseconds
            self.refusalsInARow = settings.burst.refusalsInARow
            self.burstWindowDuration = settings.burst.window
            self.exemptions = settings.exemptions
            self.hasGroupOverrides = !settings.limits.groups.isEmpty
            self.detection = settings.detection
        }
    }

    public var settings: PolicySettings { configured.settings }
    /// Whether messages are scored (`[detection] enabled`), read without copying the
    /// settings: the glue asks once per transaction.
    public var scoresMessages: Bool { configured.detection.enabled }
    var configured: Configured { current.value }
    let groups: any GroupDirectory
    let store: any StateStore
    let clock: any TimeSource
    let events: (any PolicyEvents)?
    /// Counting shared with other hosts (Redis), or nil: counted in the shards alone.
    let sharing: SharedCountingState?
    let shards: [Shard]
    let profiles = LimitProfiles()
    /// Locks in force in memory whose write to the store failed, with what must be
    /// written with them; retried by `storeUnstoredLocks()` (SendPolicy+UnstoredLocks).
    /// Off the hot path: touched only when a lock is taken, retried or lifted.
    let unstored = Mutex<[AccountName: UnstoredLock]>([:])
    /// Whether the last write to the store failed, for `vigiectl status`.
    public let storeHealth = StoreHealth()
    /// Each shard's share of `[daemon] resident_accounts`, or nil: every account
    /// stays in memory (SendPolicy+Residency).
    let residentPerShard: Int?
    /// Whether some account's state may be in the store alone (unloaded, or left
    /// there by `restore()`): until then a decision never asks the store.
    let hasUnloadedAccounts = Atomic<Bool>(false)
    static let shardCount = 64

    /// One slice of the account table. A class, because `Mutex` cannot be copied
    /// into an array.
    final class Shard: Sendable {
        struct Contents: ~Copyable {
            var accounts = AccountTable()
            /// Locks in force. Apart from the counters: few accounts are ever locked,
            /// and an optional lock inline in every entry cost ~70 bytes per account.
            var locks: [AccountName: AccountLock] = [:]
            /// Accounts whose counters changed since the last flush, each listed
            /// once: its entry's `isDirty` says whether it is here already. A list, not
            /// a set: the flag already answers "is it in?", and a set's buckets cost
            /// 32-64 bytes per account listed (benchmarks/ PolicyMemory).
            var dirty: [AccountName] = []
            /// The recent decisions that moved a suspicion score, for `vigiectl
            /// explain` and as a suspicion lock's evidence; only for accounts
            /// whose score is moving, bounded (`SuspicionLog`).
            var suspicion: [AccountName: SuspicionLog] = [:]
            /// Bumped by each unloading pass, so a read of the store that an unload
            /// overtook is done again (`settle`).
            var unloads = 0
        }
        let state = Mutex(Contents())
    }

    public init(
        settings: PolicySettings,
        groups: any GroupDirectory,
        store: any StateStore,
        clock: any TimeSource,
        events: (any PolicyEvents)? = nil,
        sharedCounting: (any SharedCounting)? = nil,
        residentAccounts: Int? = nil
    ) {
        self.current = ReloadableValue(Configured(settings: settings, generation: 0))
        self.groups = groups
        self.store = store
        self.clock = clock
        self.events = events
        self.sharing = sharedCounting.map(SharedCountingState.init(authority:))
        self.shards = (0..<Self.shardCount).map { _ in Shard() }
        // The config asks for at least 1000 (16 a shard); tests go down to one a shard.
        self.residentPerShard = residentAccounts.map { max(1, ($0 + Self.shardCount - 1) / Self.shardCount) }
    }

    func shard(for account: AccountName) -> Shard {
        shards[Int(UInt(bitPattern: account.hash) % UInt(Self.shardCount))]
    }

    var burstWindow: Int64 { configured.burstWindow }
    static func burstWindow(_ settings: PolicySettings) -> Int64 { max(1000, settings.burst.window.milliseconds) }

    /// Puts new settings in force for every later decision (`vigiectl reload`).
    /// Counters and locks are kept; limits cached per account are resolved again.
    public func reload(settings: PolicySettings) {
        current.replace { Configured(settings: settings, generation: $0.generation + 1) }
    }

    // MARK: Restoring state

    /// Loads locks and counters from the store (under `[daemon] resident_accounts`,
    /// the most recently active accounts' only). Called once before serving.
    public func restore() throws {
        let locks = try store.activeLocks()
        let (counters, histories, leftInStore) = Self.residentSelection(
            counters: try store.loadCounters(), histories: try store.loadHistories(),
            bound: residentPerShard.map { $0 * Self.shardCount })
        if leftInStore { hasUnloadedAccounts.store(true, ordering: .releasing) }
        for (account, saved) in counters {
            shard(for: account).state.withLock { $0.accounts.modify(account) { $0.packed = PackedCounters(saved) } }
        }
        for (account, history) in histories {
            shard(for: account).state.withLock { $0.accounts.modify(account) { $0.history = history } }
        }
        for lock in locks {
            let account = AccountName(normalized: lock.account)
            shard(for: account).state.withLock { $0.locks[account] = lock }
        }
    }

    // MARK: Deciding

    public func isExempt(_ account: AccountName) -> Bool {
        configured.exemptions.accounts.contains(account)
    }

    /// Whether a recipient must stay reachable whatever the limits (postmaster, abuse).
    public func isExempt(recipient: String) -> Bool {
        configured.exemptions.isExempt(recipient: recipient)
    }

    /// The lock in force for `account`, if any.
    public func lock(of account: AccountName) -> AccountLock? {
        shard(for: account).state.withLock { $0.locks[account] }
    }

    /// Decides a message in progress without counting it (at RCPT TO, when the
    /// final recipient count is not known yet).
    ///
    /// - Parameter countsAsRefusal: whether a refusal now counts towards the
    ///   "refused in a row" burst signal. Pass true once per message, so a message
    ///   refused at each of its 40 recipients is one attempt, not 40.
    public func check(account: AccountName, recipients: Int, countsAsRefusal: Bool) -> Verdict {
        decide(account: account, recipients: recipients, queueID: nil, countsAsRefusal: countsAsRefusal)
    }

    /// Decides a finished message and, if accepted, counts it. `queueID` is kept as
    /// possible evidence for a later burst lock.
    ///
    /// - Parameter signals: where the message comes from and goes to, for the
    ///   suspicion score (`[detection]`); nil scores nothing.
    public func commit(account: AccountName, recipients: Int, queueID: String?, countsAsRefusal: Bool = true,
                       signals: MessageSignals? = nil) -> Verdict {
        decide(account: account, recipients: recipients, queueID: queueID ?? "", countsAsRefusal: countsAsRefusal,
               signals: signals)
    }

    /// Records the queue id of the message that tripped `lock`, which the daemon has
    /// just quarantined.
    public func recordTrippedMessage(lock: AccountLock, queueID: String) {
        guard !queueID.isEmpty else { return }
        let account = AccountName(normalized: lock.account)
        // A lock not stored yet takes the queue id with it when the retry writes it;
        // one stored since the message began has its id in memory now.
        guard let id = lock.id ?? self.lock(of: account)?.id else {
            keepTrippedMessage(account: account, queueID: queueID)
            return
        }
        do {
            try store.addEvidence(LockEvidence(lockID: id, queueID: queueID, acceptedAt: clock.now(), tripped: true))
        } catch {
            storeFailed(error, during: "recording the quarantined message \(queueID)")
        }
    }

    /// What one pass under the shard mutex found.
    enum Outcome {
        case verdict(Verdict)
        case newLock(AccountLock, BurstTrigger, [RecentMessage])
        /// Accepted, and the suspicion score just reached the watch threshold.
        case watched(SuspicionAssessment, watch: Int)
        /// The account's cached limits are missing or stale: resolve them outside
        /// the mutex (NSS may block) and come back.
        case needLimits
        /// Ask the shared counts (outside the mutex: a network round trip) with
        /// these limits, and come back with the answer.
        case consultShared(LimitMaxima)
        /// The account is not in memory and may be in the store alone: read it
        /// (outside the mutex), noting the shard's unload count before the read.
        case needStoredState(unloads: Int)
    }

    private func decide(account: AccountName, recipients: Int, queueID: String?, countsAsRefusal: Bool,
                        signals: MessageSignals? = nil) -> Verdict {
        let configured = self.configured
        // Exempt accounts are never counted nor locked, whoever forgets to ask first.
        if !configured.exemptions.accounts.isEmpty, configured.exemptions.accounts.contains(account) { return .accept }
        let now = clock.now().milliseconds
        let shard = shard(for: account)
        var fresh: SharedLimits?
        // Shared counting: asked once per decision; a failure decides here alone.
        let sharing = self.sharing
        var consult = sharing.map { !$0.isDegraded } ?? false
        var shared: (count: SharedCount, limits: LimitMaxima)?
        var decidedAlone = sharing != nil && !consult
        // Unloaded accounts (`[daemon] resident_accounts`): read back before deciding.
        var stored: (state: StoredAccount, unloads: Int)?
        while true {
            let outcome: Outcome = shard.state.withLock { shard in
                if !shard.locks.isEmpty, let lock = shard.locks[account] { return .verdict(.locked(lock)) }
                // Checked on every pass, in the same hold of the mutex as the change:
                // an account read back on the first pass may be unloaded again while
                // its limits are resolved, and must not come back as an empty entry.
                // The flag is read under the mutex: an unload sets it before it removes
                // anything, so an account found missing here is never taken for new.
                if hasUnloadedAccounts.load(ordering: .acquiring), !shard.accounts.contains(account) {
                    // `settle` is false when an unload overtook the read: read again.
                    guard let (state, unloads) = stored, shard.settle(account, stored: state, readAfter: unloads) else {
                        return .needStoredState(unloads: shard.unloads)
                    }
                }
                var newlyDirty = false
                // The entry is changed in place inside the table: one lookup, no copy.
                let outcome = shard.accounts.modify(account) { entry in
                    let outcome = Self.decide(
                        entry: &entry, account: account, recipients: recipients, queueID: queueID,
                        countsAsRefusal: countsAsRefusal, signals: signals, now: now, configured: configured,
                        fresh: fresh, consult: consult, shared: shared, suspicion: &shard.suspicion)
                    switch outcome {
                    case .needLimits, .consultShared, .needStoredState: return outcome
                    default: break
                    }
                    // Already waiting for the next flush: no need to hash it into the set again.
                    if !entry.isDirty { entry.isDirty = true; newlyDirty = true }
                    return outcome
                }
                if case .newLock(let lock, _, _) = outcome { shard.locks[account] = lock }
                if newlyDirty { shard.dirty.append(account) }
                return outcome
            }
            switch outcome {
            case .needStoredState(let unloads):
                do {
                    stored = (try store.loadAccount(account), unloads)
                } catch {
                    // Deciding on zero counts would forget what the account sent today.
                    storeFailed(error, during: "reading the saved state of \(account)")
                    return .undecided(.storedState)
                }
            case .needLimits:
                let settings = configured.settings
                let memberOf: [String]
                do {
                    memberOf = configured.hasGroupOverrides ? try groups.groups(of: account) : []
                } catch {
                    // Nothing cached: the next message asks the directory again.
                    events?.groupLookupFailed(account, error: error)
                    return .undecided(.groupLookup)
                }
                fresh = profiles.limits(for: account, memberOf: memberOf, settings: settings, generation: configured.generation)
            case .consultShared(let limits):
                consult = false
                let question = SharedCountQuestion(account: account, recipients: recipients, limits: limits,
                                                   burstWindow: configured.burstWindow,
                                                   refusalThreshold: configured.refusalsInARow)
                do {
                    let count = queueID == nil
                        ? try sharing!.authority.check(question, countsRefusal: countsAsRefusal)
                        : try sharing!.authority.commit(question, countsRefusal: countsAsRefusal)
                    shared = (count, limits)
                } catch {
                    sharedCountingFailed(error, account: account)
                    decidedAlone = true
                }
            case .verdict(let verdict):
                if decidedAlone, queueID != nil, case .accept = verdict { sharing?.remember(account: account, recipients: recipients) }
                return verdict
            case .watched(let assessment, let watch):
                if decidedAlone, queueID != nil { sharing?.remember(account: account, recipients: recipients) }
                events?.accountWatched(account, assessment: assessment, watch: watch)
                return .accept
            case .newLock(let lock, let trigger, let recent):
                var evidence = recent.filter { $0.acceptedAt > now - configured.burstWindow }
                if case .suspicion = trigger {
                    // The messages that moved the score are the evidence: a slow attack
                    // spreads over hours, far beyond the burst window.
                    let known = Set(evidence.map(\.queueID))
                    let scored = shard.state.withLock { $0.suspicion[account].map { Array($0.recent) } ?? [] }
                    evidence += scored.compactMap { entry in
                        guard let id = entry.queueID, !id.isEmpty, !known.contains(id) else { return nil }
                        return RecentMessage(queueID: id, acceptedAt: entry.at.milliseconds)
                    }
                    evidence.sort { $0.acceptedAt < $1.acceptedAt }
                }
                let stored = storeLock(lock, evidence: evidence)
                events?.accountLocked(stored, trigger: trigger, evidence: evidence.count)
                return .lockedNow(stored, trigger)
            }
        }
    }

    /// The decision itself, on the account's entry, under its shard's mutex.
    private static func decide(
        entry: inout AccountEntry, account: AccountName, recipients: Int, queueID: String?, countsAsRefusal: Bool,
        signals: MessageSignals?, now: Int64, configured: Configured, fresh: SharedLimits?,
        consult: Bool = false, shared: (count: SharedCount, limits: LimitMaxima)? = nil,
        suspicion: inout [AccountName: SuspicionLog]
    ) -> Outcome {
        if let fresh {
            entry.limits = fresh
            entry.limitsExpire = now + configured.groupCacheLifetime
        }
        // With the shared answer in hand nothing is resolved or asked again (a commit
        // would count twice): the limits it was asked with stand.
        if let shared {
            return Self.decide(entry: &entry, account: account, shared: shared.count, recipients: recipients,
                               queueID: queueID, signals: signals, now: now, limits: shared.limits,
                               configured: configured, suspicion: &suspicion)
        }
        guard let cached = entry.limits, entry.limitsExpire > now, cached.generation == configured.generation else {
            return .needLimits
        }
        let limits = cached.maxima
        let burstWindow = configured.burstWindow
        // Recipients per message is a property of this message alone, which the
        // shared script does not know: refused here, without a round trip.
        if consult, limits.recipientsPerMessage.map({ recipients <= $0 }) ?? true {
            return .consultShared(limits)
        }
        entry.packed.advance(to: now, burstWindow: burstWindow)

        if let breach = Self.breach(limits: limits, counters: entry.packed, recipients: recipients, now: now) {
            if countsAsRefusal { entry.packed.refusalsInARow &+= 1 }
            if let threshold = configured.refusalsInARow, Int(entry.packed.refusalsInARow) >= threshold {
                let trigger = BurstTrigger.refusalsInARow(Int(entry.packed.refusalsInARow))
                return .newLock(lock(account, trigger: trigger, now: now), trigger, entry.recent.all)
            }
            return .verdict(.overLimit(breach))
        }

        if let trigger = Self.burstTrigger(limits, window: configured.burstWindowDuration, counters: entry.packed,
                                           recipients: recipients, now: now, windowLength: burstWindow) {
            return .newLock(lock(account, trigger: trigger, now: now), trigger, entry.recent.all)
        }

        if let queueID {
            entry.packed.refusalsInARow = 0
            return Self.counted(entry: &entry, account: account, recipients: recipients, queueID: queueID,
                                signals: signals, now: now, limits: limits, configured: configured, suspicion: &suspicion)
        }
        return .verdict(.accept)
    }

    /// An accepted message at end of message, on one host or with the shared counts:
    /// counted on the entry, kept as evidence, then scored.
    private static func counted(
        entry: inout AccountEntry, account: AccountName, recipients: Int, queueID: String, signals: MessageSignals?,
        now: Int64, limits: LimitMaxima, configured: Configured, suspicion: inout [AccountName: SuspicionLog]
    ) -> Outcome {
        entry.packed.record(recipients: recipients)
        // Evidence is only for a burst lock: with the volume signals off there is
        // nothing to keep it for.
        if !queueID.isEmpty, limits.burstMessages != nil || limits.burstRecipients != nil || configured.refusalsInARow != nil {
            entry.recent.remember(RecentMessage(queueID: queueID, acceptedAt: now),
                                  capacity: min(1000, (limits.burstMessages ?? 100) + 1), window: configured.burstWindow)
        }
        if let signals, configured.detection.enabled, limits.detectionWatch != nil || limits.detectionLock != nil {
            return Self.score(entry: &entry, account: account, signals: signals, queueID: queueID, now: now,
                              limits: limits, configured: configured, suspicion: &suspicion)
        }
        return .verdict(.accept)
    }

    /// The suspicion score's part of a commit: the message is already counted.
    private static func score(
        entry: inout AccountEntry, account: AccountName, signals: MessageSignals, queueID: String, now: Int64,
        limits: LimitMaxima, configured: Configured, suspicion: inout [AccountName: SuspicionLog]
    ) -> Outcome {
        var observed = entry.history.observe(signals, now: now, watch: limits.detectionWatch, lock: limits.detectionLock,
                                             settings: configured.detection)
        observed.assessment.queueID = queueID.isEmpty ? nil : queueID
        if observed.assessment.points >= SuspicionLog.smallestMove {
            SuspicionLog.record(observed.assessment, for: account, in: &suspicion)
        }
        if observed.lockReached, let threshold = limits.detectionLock {
            let trigger = BurstTrigger.suspicion(observed.assessment, lock: threshold)
            return .newLock(lock(account, trigger: trigger, now: now), trigger, entry.recent.all)
        }
        if observed.watchRaised, let watch = limits.detectionWatch {
            return .watched(observed.assessment, watch: watch)
        }
        return .verdict(.accept)
    }

    /// The decision the shared counts took, on the account's entry: the totals say
    /// why (which limit, until when), and the entry keeps this host's own share of
    /// the traffic, which it decides on alone should the shared counts be unreachable.
    private static func decide(
        entry: inout AccountEntry, account: AccountName, shared: SharedCount, recipients: Int, queueID: String?,
        signals: MessageSignals?, now: Int64, limits: LimitMaxima, configured: Configured,
        suspicion: inout [AccountName: SuspicionLog]
    ) -> Outcome {
        let burstWindow = configured.burstWindow
        entry.packed.advance(to: now, burstWindow: burstWindow)
        entry.packed.refusalsInARow = shared.counters.refusalsInARow
        let totals = PackedCounters(shared.counters)
        let at = shared.counters.lastActivity
        switch shared.verdict {
        case .refuse, .burst:
            let breach = Self.breach(limits: limits, counters: totals, recipients: recipients, now: at)
            if let threshold = configured.refusalsInARow, shared.verdict == .refuse || breach != nil,
               Int(totals.refusalsInARow) >= threshold {
                let trigger = BurstTrigger.refusalsInARow(Int(totals.refusalsInARow))
                return .newLock(lock(account, trigger: trigger, now: now), trigger, entry.recent.all)
            }
            if shared.verdict == .refuse {
                // The script and `breach` do the same arithmetic; should they ever
                // disagree, the refusal stands with the daily message limit named.
                return .verdict(.overLimit(breach ?? LimitBreach(kind: .window(.messages, .day),
                                                                 limit: limits.messagesPerDay ?? 0, count: 0, retryAt: nil)))
            }
            let trigger = Self.burstTrigger(limits, window: configured.burstWindowDuration, counters: totals,
                                            recipients: recipients, now: at, windowLength: burstWindow)
                ?? .messages(count: Int(totals.burstMessages.estimate(at: at, length: burstWindow).rounded()),
                             limit: limits.burstMessages ?? 0, window: configured.burstWindowDuration)
            return .newLock(lock(account, trigger: trigger, now: now), trigger, entry.recent.all)
        case .accept:
            guard let queueID else { return .verdict(.accept) }
            return Self.counted(entry: &entry, account: account, recipients: recipients, queueID: queueID,
                                signals: signals, now: now, limits: limits, configured: configured, suspicion: &suspicion)
        }
    }

    private static func lock(_ account: AccountName, trigger: BurstTrigger, now: Int64) -> AccountLock {
        AccountLock(account: account, lockedAt: UnixTime(milliseconds: now), actor: "vigie", reason: trigger.description)
    }

    /// Writes a new lock durably, then puts its id in memory. Until the write
    /// returns, the lock is already in force in memory for every other session.
    private func storeLock(_ lock: AccountLock, evidence: [RecentMessage]) -> AccountLock {
        let account = AccountName(normalized: lock.account)
        do {
            let stored = try store.recordLock(lock, evidence: evidence.map { ($0.queueID, UnixTime(milliseconds: $0.acceptedAt)) })
            shard(for: account).state.withLock { shard in
                // The store may answer with a lock already in force (an admin's lock
                // racing the burst rule): that one, with its id, is the lock.
                if shard.locks[account]?.id == nil { shard.locks[account] = stored }
            }
            storeHealth.succeeded()
            return stored
        } catch {
            // In force in memory already; kept for the flusher to write (and the stop).
            keepUnstored(lock, evidence: evidence)
            storeFailed(error, during: "recording the lock of \(account)")
            return lock
        }
    }

    /// The limit this message would break, choosing the one that frees up last so
    /// the notice's "you can send again at" is true.
    static func breach(limits: LimitMaxima, counters: PackedCounters, recipients: Int, now: Int64) -> LimitBreach? {
        if let cap = limits.recipientsPerMessage, recipients > cap {
            return LimitBreach(kind: .recipientsPerMessage, limit: cap, count: recipients, retryAt: nil)
        }
        var worst: LimitBreach?
        // Spelled out per window rather than looped over `allCases` arrays: this runs
        // twice per message, and the loops' arrays cost more than the arithmetic.
        func consider(_ metric: LimitMetric, _ window: LimitWindow, _ limit: Int?, _ count: SlidingWindowCount) {
            guard let limit else { return }
            let length = window.milliseconds
            let amount = metric == .messages ? 1 : recipients
            guard !count.fits(amount, under: limit, at: now, length: length) else { return }
            let used = count.estimate(at: now, length: length)
            let retry = count.earliestFit(of: amount, under: limit, at: now, length: length)
            let breach = LimitBreach(kind: .window(metric, window), limit: limit, count: Int(used.rounded()),
                                     retryAt: retry.map { UnixTime(milliseconds: $0) })
            if worst == nil || (breach.retryAt ?? UnixTime(milliseconds: .max)) > (worst!.retryAt ?? UnixTime(milliseconds: .max)) {
                worst = breach
            }
        }
        consider(.messages, .minute, limits.messagesPerMinute, counters[.messages, .minute])
        consider(.recipients, .minute, limits.recipientsPerMinute, counters[.recipients, .minute])
        consider(.messages, .hour, limits.messagesPerHour, counters[.messages, .hour])
        consider(.recipients, .hour, limits.recipientsPerHour, counters[.recipients, .hour])
        consider(.messages, .day, limits.messagesPerDay, counters[.messages, .day])
        consider(.recipients, .day, limits.recipientsPerDay, counters[.recipients, .day])
        return worst
    }

    static func burstTrigger(_ limits: LimitMaxima, window: Duration, counters: PackedCounters, recipients: Int,
                             now: Int64, windowLength: Int64) -> BurstTrigger? {
        if let threshold = limits.burstMessages,
           !counters.burstMessages.fits(1, under: threshold, at: now, length: windowLength) {
            let count = counters.burstMessages.estimate(at: now, length: windowLength) + 1
            return .messages(count: Int(count.rounded()), limit: threshold, window: window)
        }
        if let threshold = limits.burstRecipients,
           !counters.burstRecipients.fits(recipients, under: threshold, at: now, length: windowLength) {
            let count = counters.burstRecipients.estimate(at: now, length: windowLength) + Double(recipients)
            return .recipients(count: Int(count.rounded()), limit: threshold, window: window)
        }
        return nil
    }
}
