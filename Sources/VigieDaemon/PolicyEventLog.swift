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
        if case .suspicion = trigger { metrics.locksByDetection.increment() } else { metrics.locksByBurst.increment() }
        notifier.accountLocked(lock, trigger: trigger, evidence: evidence)
    }

    func accountWatched(_ account: AccountName, assessment: SuspicionAssessment, watch: Int) {
        logger.warning("account watched: suspicion score reached the watch threshold", metadata: [
            "queue.id": "\(assessment.queueID ?? "NOQUEUE")", "account": "\(account)",
            "score": "\(Int(assessment.score.rounded()))", "watch": "\(watch)", "reasons": "\(assessment.reasons)",
        ])
        metrics.detectionWatches.increment()
        notifier.accountWatched(account, assessment: assessment, watch: watch)
    }

    func storeFailed(_ error: any Error, during operation: String) {
        metrics.storeErrors.increment()
        logger.error("state store failed", metadata: ["operation": "\(operation)", "error": "\(error)"])
    }

    func sharedCountingFailed(_ error: any Error, account: AccountName, entered: Bool) {
        metrics.storeErrors.increment()
        if entered {
            metrics.storeDegraded.set(to: 1)
            logger.error("shared counts unreachable: deciding on this host's counters alone until they answer", metadata: [
                "account": "\(account)", "error": "\(error)",
            ])
        } else {
            logger.warning("shared counts unreachable", metadata: ["account": "\(account)", "error": "\(error)"])
        }
    }

    func sharedCountingRecovered(accounts: Int, messages: Int) {
        logger.notice("shared counts reachable again: what was counted here alone is added", metadata: [
            "accounts": "\(accounts)", "messages": "\(messages)",
        ])
    }

    func storedLockApplied(account: AccountName, lockID: Int64?, locked: Bool) {
        logger.notice(locked ? "lock from the shared store in force here" : "unlock from the shared store in force here", metadata: [
            "account": "\(account)", "lock.id": "\(lockID.map(String.init) ?? "unstored")",
        ])
    }

    func groupLookupFailed(_ account: AccountName, error: any Error) {
        metrics.groupLookupFailures.increment()
        logger.error("group lookup failed: message refused for now", metadata: [
            "account": "\(account)", "error": "\(error)",
        ])
    }
}
