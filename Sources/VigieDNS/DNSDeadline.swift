#if canImport(Glibc)
import Glibc
#endif

/// A per-thread time budget for DNS. libspf2 and libopendkim call our DNS hooks
/// from inside their own functions, with no room to pass a deadline through; the
/// caller sets one around the C call and every lookup on that thread honours it.
/// A thread-local is correct here because those C libraries resolve synchronously
/// on the calling thread (libmilter gives each callback one thread at a time).
public enum DNSDeadline {
    private final class Box { let deadline: ContinuousClock.Instant; init(_ d: ContinuousClock.Instant) { deadline = d } }

    // pthread_key_t is created once; its destructor is unneeded (values are
    // removed before `withDeadline` returns).
    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key, nil)
        return key
    }()

    /// The deadline set on this thread, if any.
    public static var current: ContinuousClock.Instant? {
        guard let raw = pthread_getspecific(key) else { return nil }
        return Unmanaged<Box>.fromOpaque(raw).takeUnretainedValue().deadline
    }

    /// Runs `body` with lookups on this thread bounded by `deadline` (or an
    /// earlier deadline already in force).
    public static func withDeadline<R>(_ deadline: ContinuousClock.Instant, _ body: () throws -> R) rethrows -> R {
        let previous = pthread_getspecific(key)
        let effective = current.map { min($0, deadline) } ?? deadline
        let box = Unmanaged.passRetained(Box(effective))
        pthread_setspecific(key, box.toOpaque())
        defer {
            pthread_setspecific(key, previous)
            box.release()
        }
        return try body()
    }
}
