import Synchronization
import VigieCore

/// Keeps every event the policy reports, in order.
final class RecordingEvents: PolicyEvents {
    struct Locked: Equatable {
        var lock: AccountLock
        var trigger: BurstTrigger
        var evidence: Int
    }

    struct StoreFailure {
        var error: any Error
        var operation: String
    }

    struct Watched {
        var account: AccountName
        var assessment: SuspicionAssessment
        var watch: Int
    }

    private let state = Mutex<(locked: [Locked], storeFailures: [StoreFailure], watched: [Watched])>(([], [], []))
    var watched: [Watched] { state.withLock { $0.watched } }

    func accountWatched(_ account: AccountName, assessment: SuspicionAssessment, watch: Int) {
        state.withLock { $0.watched.append(Watched(account: account, assessment: assessment, watch: watch)) }
    }

    var locked: [Locked] { state.withLock { $0.locked } }
    var storeFailures: [StoreFailure] { state.withLock { $0.storeFailures } }

    func accountLocked(_ lock: AccountLock, trigger: BurstTrigger, evidence: Int) {
        state.withLock { $0.locked.append(Locked(lock: lock, trigger: trigger, evidence: evidence)) }
    }

    func storeFailed(_ error: any Error, during operation: String) {
        state.withLock { $0.storeFailures.append(StoreFailure(error: error, operation: operation)) }
    }
}
