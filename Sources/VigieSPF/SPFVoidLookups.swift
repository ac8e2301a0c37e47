#if canImport(Glibc)
import Glibc
#endif

/// Counts void lookups (RFC 7208 §4.6.4: NXDOMAIN or no records of the type) during
/// one SPF check, which libspf2 1.2.10 does not: more than two make the check a
/// permerror, so a record cannot make every receiver query names that do not exist.
///
/// A thread-local, like `DNSDeadline`: libspf2 resolves synchronously on the
/// calling thread, and its DNS hook has no room for a per-check context.
/// The lookup of the checked domain's own record (TXT, or the obsolete SPF type)
/// is not counted: a domain without a record is "none", not a void mechanism.
enum SPFVoidLookups {
    final class Count {
        let checkedDomain: String
        var voids = 0
        init(checkedDomain: String) { self.checkedDomain = checkedDomain }
    }

    /// Most void lookups a check may make (RFC 7208 §4.6.4 suggests 2).
    static let limit = 2

    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key, nil)
        return key
    }()

    /// Runs `body` (one libspf2 check for `domain`) and returns the void lookups it made.
    static func counting<R>(domain: String, _ body: () -> R) -> (R, Int) {
        let count = Count(checkedDomain: normalized(domain))
        let previous = pthread_getspecific(key)
        let box = Unmanaged.passRetained(count)
        pthread_setspecific(key, box.toOpaque())
        defer {
            pthread_setspecific(key, previous)
            box.release()
        }
        let result = body()
        return (result, count.voids)
    }

    /// Called by the DNS hook for an answer without records of the type asked.
    static func recordVoid(name: String, isRecordLookup: Bool) {
        guard let raw = pthread_getspecific(key) else { return }
        let count = Unmanaged<Count>.fromOpaque(raw).takeUnretainedValue()
        if isRecordLookup && normalized(name) == count.checkedDomain { return }
        count.voids += 1
    }

    private static func normalized(_ name: String) -> String {
        var lower = name.lowercased()
        if lower.hasSuffix(".") { lower.removeLast() }
        return lower
    }
}
