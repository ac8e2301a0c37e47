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

    func groupLookupFailed(_ account: AccountName, error: any Error) {
        metrics.groupLookupFailures.increment()
        logger.error("group lookup failed: message refused for now", metadata: [
            "account": "\(account)", "error": "\(error)",
        ])
    }
}
