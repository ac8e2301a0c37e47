import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The open connections of one `LookupServer`: how many, and which has been idle
/// longest, so a full server makes room for a new client instead of refusing it.
///
/// Why evict rather than refuse: Postfix opens a new connection when it needs one,
/// and a refused connection is a failed lookup (a deferred or mis-routed forward).
/// Connections that never did anything (a stuck or hostile local client) are the
/// longest idle, since activity is counted from the last request served; Postfix's
/// own connections, in use, are the newest. Postfix's tcp_table and socketmap
/// clients reconnect when a connection they kept is closed.
///
/// Thread model: the accepting thread admits and evicts, each serving thread
/// touches and removes its own descriptor, all under one mutex. An evicted
/// connection is only `shutdown(2)`, never closed here: its serving thread wakes
/// from `recv`, sees end of stream and closes it itself, after removing it under
/// the mutex, so a descriptor number is never acted on after it was reused.
final class LookupConnections: Sendable {
    private struct Entry {
        var lastActivity: ContinuousClock.Instant
        var evicted = false
    }

    private let entries = Mutex<[Int32: Entry]>([:])

    /// Connections open and not evicted.
    var count: Int { entries.withLock { $0.values.count { !$0.evicted } } }

    /// Registers a new connection. At `maximum`, shuts down the longest-idle one
    /// first and returns true.
    func admit(_ fd: Int32, maximum: Int, now: ContinuousClock.Instant = .now) -> Bool {
        entries.withLock { entries in
            var evicted = false
            if entries.values.count(where: { !$0.evicted }) >= maximum,
               let oldest = entries.filter({ !$0.value.evicted }).min(by: { $0.value.lastActivity < $1.value.lastActivity }) {
                entries[oldest.key]?.evicted = true
                shutdown(oldest.key, Int32(SHUT_RDWR))
                evicted = true
            }
            entries[fd] = Entry(lastActivity: now)
            return evicted
        }
    }

    /// A request was served on `fd`.
    func touch(_ fd: Int32, now: ContinuousClock.Instant = .now) {
        entries.withLock { $0[fd]?.lastActivity = now }
    }

    /// Forgets `fd`; its serving thread calls this just before closing it.
    func remove(_ fd: Int32) {
        _ = entries.withLock { $0.removeValue(forKey: fd) }
    }
}
