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

    private let state = Mutex<(locked: [Locked], storeFailures: [StoreFailure])>(([], []))

    var locked: [Locked] { state.withLock { $0.locked } }
    var storeFailures: [StoreFailure] { state.withLock { $0.storeFailures } }

    func accountLocked(_ lock: AccountLock, trigger: BurstTrigger, evidence: Int) {
        state.withLock { $0.locked.append(Locked(lock: lock, trigger: trigger, evidence: evidence)) }
    }

    func storeFailed(_ error: any Error, during operation: String) {
        state.withLock { $0.storeFailures.append(StoreFailure(error: error, operation: operation)) }
    }
}
