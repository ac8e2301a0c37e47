/// Everything the send policy is configured with (built from vigie.toml).
public struct PolicySettings: Sendable, Equatable {
    public var limits: LimitPolicy
    public var burst: BurstRule
    public var exemptions: Exemptions
    /// How long an account's group memberships (and so its limits) are cached.
    /// NSS may go to LDAP: that must not happen on every message.
    public var groupCacheLifetime: Duration
    /// The suspicion score (`[detection]`); off unless configured (vigie.toml turns it on).
    public var detection: DetectionSettings

    public init(
        limits: LimitPolicy,
        burst: BurstRule,
        exemptions: Exemptions = Exemptions(),
        groupCacheLifetime: Duration = .seconds(60),
        detection: DetectionSettings = .disabled
    ) {
        self.limits = limits
        self.burst = burst
        self.exemptions = exemptions
        self.groupCacheLifetime = groupCacheLifetime
        self.detection = detection
    }
}

/// Things the policy reports that the daemon turns into logs, mail and metrics.
public protocol PolicyEvents: Sendable {
    /// An account was just locked by the burst rule (already stored, unless `storeError`).
    func accountLocked(_ lock: AccountLock, trigger: BurstTrigger, evidence: Int)
    /// State could not be written. The decision stands (a lock stays in force in
    /// memory); the admin must look at the store.
    func storeFailed(_ error: any Error, during operation: String)
    /// An account's suspicion score reached the watch threshold (once per episode).
    func accountWatched(_ account: AccountName, assessment: SuspicionAssessment, watch: Int)
    /// The group directory did not answer for `account`; its message is refused for now.
    func groupLookupFailed(_ account: AccountName, error: any Error)
    /// The shared counts did not answer (`error`): this host decides on its own
    /// counters. `entered` is true for the failure that started degraded mode.
    func sharedCountingFailed(_ error: any Error, account: AccountName, entered: Bool)
    /// The shared counts answer again; what was counted here alone has been added.
    func sharedCountingRecovered(accounts: Int, messages: Int)
    /// A lock or an unlock recorded by another host is now in force here.
    func storedLockApplied(account: AccountName, lockID: Int64?, locked: Bool)
}

extension PolicyEvents {
    public func accountWatched(_ account: AccountName, assessment: SuspicionAssessment, watch: Int) {}
    public func groupLookupFailed(_ account: AccountName, error: any Error) {}
    public func sharedCountingFailed(_ error: any Error, account: AccountName, entered: Bool) {}
    public func sharedCountingRecovered(accounts: Int, messages: Int) {}
    public func storedLockApplied(account: AccountName, lockID: Int64?, locked: Bool) {}
}
