#if canImport(Glibc)
import Glibc
#endif

/// Key records the resolver fetched whole but libopendkim could not take: an
/// answer larger than the buffer libopendkim hands its DNS hook (8 KiB in 2.11).
///
/// Why: libopendkim reports such a lookup as a key retrieval failure, which reads
/// as `temperror`, "try again later". It is not transient: the same record will be
/// too large on every retry, and a receiver (or DMARC) that defers on temperror
/// would defer forever. So the hook notes the name here and the verdict for that
/// signature becomes `permerror`, with the sizes in the reason.
///
/// A thread-local, like `DNSDeadline`: libopendkim calls the hook synchronously
/// on the thread running `dkim_eoh`/`dkim_eom`, and the hook has no other room for
/// a per-message context.
final class DKIMOversizedKeys {
    private(set) var records: [String: (bytes: Int, limit: Int)] = [:]

    func record(_ name: String, bytes: Int, limit: Int) {
        records[DKIMOversizedKeys.normalized(name)] = (bytes, limit)
    }

    /// The sizes noted for the key of `selector` at `domain`, if it was too large.
    func oversized(selector: String, domain: String) -> (bytes: Int, limit: Int)? {
        records[DKIMOversizedKeys.normalized("\(selector)._domainkey.\(domain)")]
    }

    static func normalized(_ name: String) -> String {
        var name = name.lowercased()
        while name.hasSuffix(".") { name.removeLast() }
        return name
    }

    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key, nil)
        return key
    }()

    /// The collector of the verification running on this thread, if any.
    static var current: DKIMOversizedKeys? {
        pthread_getspecific(key).map { Unmanaged<DKIMOversizedKeys>.fromOpaque($0).takeUnretainedValue() }
    }

    /// Runs `body` (a libopendkim call that may fetch keys) with `self` as this
    /// thread's collector.
    func collecting<R>(_ body: () -> R) -> R {
        let previous = pthread_getspecific(Self.key)
        pthread_setspecific(Self.key, Unmanaged.passUnretained(self).toOpaque())
        defer { pthread_setspecific(Self.key, previous) }
        return body()
    }
}
