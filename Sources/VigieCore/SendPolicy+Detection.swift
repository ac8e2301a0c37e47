/// What admins see and do about the suspicion score: `vigiectl show`'s detection
/// part, `vigiectl explain`, `vigiectl trust`.
extension SendPolicy {
    /// The score, its thresholds and where they come from, and what the history
    /// knows (usual networks, volume). Nil when detection is off.
    public func detectionReport(account: AccountName, memberOf: [String]) -> DetectionReport? {
        let settings = self.settings
        guard settings.detection.enabled else { return nil }
        let now = clock.now().milliseconds
        let limits = settings.limits.resolve(for: account, memberOf: memberOf, burst: settings.burst, detection: settings.detection)
        let history = (try? withResident(account) { $0.accounts[account]?.history }) ?? SendingHistory()
        let hour = UInt32(clamping: now / 3_600_000)
        let establishedAfter = UInt32(clamping: settings.detection.establishedAfter.milliseconds / 3_600_000)
        let last = shard(for: account).state.withLock { $0.suspicion[account]?.recent.last }
        return DetectionReport(
            score: history.score(at: now, halfLife: settings.detection.halfLife),
            watch: limits.detectionWatch.value.maximum, watchSource: limits.detectionWatch.source.description,
            lock: limits.detectionLock.value.maximum, lockSource: limits.detectionLock.source.description,
            watched: history.watched,
            firstSeen: history.isEmpty ? nil : UnixTime(seconds: Int64(history.firstSeenHour) * 3600),
            learnt: history.isEmpty ? 0 : SendingHistory.maturity(firstSeenHour: history.firstSeenHour, now: now,
                                                                   learningMilliseconds: settings.detection.learningMilliseconds),
            messages: Int(history.messages),
            usualHourlyVolume: history.habit.activeHours >= 3 ? history.habit.hourlyMean : nil,
            usualDailyVolume: history.habit.currentDay == 0 ? nil : history.habit.dailyMean,
            usualHours: history.habit.usualHours(),
            networks: history.networks.listing(nowHour: hour, establishedAfterHours: establishedAfter),
            lastMove: last)
    }

    /// The last decisions that moved the account's score, oldest first.
    public func explain(account: AccountName) -> [SuspicionAssessment] {
        shard(for: account).state.withLock { $0.suspicion[account].map { Array($0.recent) } ?? [] }
    }

    /// Records `network` as the account's own (a new office, a new phone provider),
    /// audited like a lock. In force at once for every later message.
    public func trust(account: AccountName, network: NetworkPrefix, actor: String, reason: String) throws {
        try store.recordAudit(AuditEvent(at: clock.now(), account: account.value, action: .trust, actor: actor,
                                         reason: "\(network): \(reason)"))
        let now = clock.now().milliseconds
        let detection = configured.detection
        // Through memory with its saved history: an unloaded account's must not start again empty.
        try withResident(account) { shard in
            shard.accounts.modify(account) { entry in
                entry.history.trust(network, now: now, settings: detection)
                // An account trusted before it ever sent: without an activity time the
                // flush would find its history past retention and forget it.
                if entry.packed.lastActivity == 0 { entry.packed.lastActivity = now }
            }
            shard.markDirty(account)
        }
    }
}

/// The detection part of `vigiectl show`.
public struct DetectionReport: Sendable, Codable, Equatable {
    public var score: Float
    public var watch: Int?
    public var watchSource: String
    public var lock: Int?
    public var lockSource: String
    /// A watch was raised in the current episode.
    public var watched: Bool
    public var firstSeen: UnixTime?
    /// 0...1: how much of the learning period the history has behind it.
    public var learnt: Float
    public var messages: Int
    public var usualHourlyVolume: Float?
    public var usualDailyVolume: Float?
    /// Hours of day (UTC) that hold most of the account's mail.
    public var usualHours: [Int]
    public var networks: [KnownNetworkReport]
    public var lastMove: SuspicionAssessment?
}

extension SendingHabit {
    /// The hours that together hold at least 80% of the histogram, in hour order.
    func usualHours() -> [Int] {
        let total = hoursTotal
        guard total > 0 else { return [] }
        var order = Array(0..<24).sorted { hours[$0] > hours[$1] }
        var kept = 0
        var chosen: [Int] = []
        while kept * 5 < total * 4, !order.isEmpty {
            let hour = order.removeFirst()
            guard hours[hour] > 0 else { break }
            kept += Int(hours[hour])
            chosen.append(hour)
        }
        return chosen.sorted()
    }
}
