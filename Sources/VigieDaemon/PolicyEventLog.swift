import Logging
import VigieCore

/// Turns policy events into log lines and lock notifications.
struct PolicyEventLog: PolicyEvents {
    let logger: Logger
    let notifier: LockNotifier
    let metrics: VigieMetrics

    func accountLocked(_ lock: AccountLock, trigger: BurstTrigger, evidence: Int) {
        logger.warning("account locked", metadata: [
            "account": "\(lock.account)", "by": "\(lock.actor)", "reason": "\(trigger)",
            "evidence": "\(evidence)", "lock.id": "\(lock.id.map(String.init) ?? "unstored")",
        ])
        metrics.locksByBurst.increment()
        notifier.accountLocked(lock, trigger: trigger, evidence: evidence)
    }

    func storeFailed(_ error: any Error, during operation: String) {
        metrics.storeErrors.increment()
        logger.error("state store failed", metadata: ["operation": "\(operation)", "error": "\(error)"])
    }
}
