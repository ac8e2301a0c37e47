import Synchronization

/// Whether the state store's last write failed, and how: what `vigiectl status`
/// shows, so a full disk is seen before a restart loses what memory alone holds.
///
/// Set by every failed write the policy makes (locks, evidence, counters) and
/// cleared by the next successful one. Touched on the flush and lock paths only,
/// never per message.
public final class StoreHealth: Sendable {
    private let error = Mutex<String?>(nil)

    public init() {}

    /// The last failure ("saving counters: ..."), or nil when the last write worked.
    public var lastError: String? { error.withLock { $0 } }

    func failed(_ failure: any Error, during operation: String) {
        error.withLock { $0 = "\(operation): \(failure)" }
    }

    func succeeded() {
        error.withLock { if $0 != nil { $0 = nil } }
    }
}
