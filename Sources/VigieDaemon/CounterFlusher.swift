import Foundation
import Synchronization
import VigieCore

/// Saves the policy's counters in the background, about once per
/// `interval`: the per-message path never writes to SQLite, and a `kill -9` loses
/// at most one interval of counting.
final class CounterFlusher: Sendable {
    private let policy: SendPolicy
    private let interval: Duration
    private let stopped = Atomic<Bool>(false)

    init(policy: SendPolicy, interval: Duration) {
        self.policy = policy
        self.interval = interval
    }

    func start() {
        let thread = Thread { [self] in
            var rounds = 0
            while !stopped.load(ordering: .acquiring) {
                Thread.sleep(forTimeInterval: Double(interval.milliseconds) / 1000)
                rounds += 1
                // Every ~5 minutes, let idle accounts be forgotten.
                if rounds % max(1, Int(300_000 / max(1, interval.milliseconds))) == 0 { policy.markAllForEviction() }
                policy.flushCounters()
                // A lock the store refused (disk full) is written as soon as it works again.
                policy.storeUnstoredLocks()
            }
        }
        thread.name = "vigie-flush"
        thread.start()
    }

    /// Stops the loop and writes what is left. Locks not stored yet get a few more
    /// tries (a second or so, the stop waits for them); returns those still unwritten,
    /// for the daemon to log: they hold in memory only, and the restart will not have them.
    @discardableResult
    func stopAndFlush() -> [AccountLock] {
        stopped.store(true, ordering: .releasing)
        policy.flushCounters()
        for attempt in 0..<5 {
            if policy.storeUnstoredLocks() == 0 { return [] }
            if attempt < 4 { Thread.sleep(forTimeInterval: 0.25) }
        }
        return policy.unstoredLocks
    }
}

/// The system wall clock.
public struct SystemTimeSource: TimeSource {
    public init() {}
    public func now() -> UnixTime {
        UnixTime(milliseconds: Int64((Date().timeIntervalSince1970 * 1000).rounded(.down)))
    }
}
