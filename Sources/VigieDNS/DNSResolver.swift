public import VigieSockets
import Synchronization

/// Vigie's stub resolver, shared by SPF (libspf2) and DKIM (libopendkim).
///
/// Synchronous by design: both C libraries resolve from inside their own calls on
/// the caller's thread, which is one of libmilter's workers (never Swift
/// concurrency's pool). Safe under many threads: the only shared state is the
/// cache behind a mutex, and no lock is held during network I/O.
///
/// Security: each query has a random id and a random source port (CSPRNG), and
/// only an answer from the queried server's address and port with the same id and
/// question is taken; anything else is ignored until the deadline
/// (`DNSTransport`). Truncated answers are asked again over TCP (16 KiB at most);
/// a failed TCP retry is a temperror, never "no record". No recursion of our own,
/// so point it at a validating local resolver (unbound) for DNSSEC.
/// Diagnostics: every failure is a `DNSFailure` naming the server and the cause;
/// `statistics` counts queries, cache hits and failures.
/// Known limitations: no DNSSEC validation, no single-flight for identical
/// concurrent queries, failures are not cached (a dead server costs each lookup
/// its timeout, bounded by the caller's `DNSDeadline`).
public final class DNSResolver: Sendable {
    public struct Configuration: Sendable {
        /// Tried in order; empty means /etc/resolv.conf's servers.
        public var nameservers: [SocketAddress]
        /// Longest wait for one server's answer to one query.
        public var attemptTimeout: Duration
        /// Longest time one lookup may take in all (all servers, all attempts).
        public var lookupTimeout: Duration
        /// Rounds over the server list.
        public var attempts: Int
        /// Entries kept; beyond it expired entries go first, then the oldest half.
        public var cacheCapacity: Int
        /// Upper bound on how long an answer is cached, whatever its TTL.
        public var maximumTTL: UInt32
        /// How long NXDOMAIN and NODATA are cached.
        public var negativeTTL: UInt32
        /// Told the duration of every lookup that went to the network (not cache
        /// hits), and whether it failed: the daemon's DNS latency histogram.
        public var observeLookup: (@Sendable (Duration, Bool) -> Void)?

        public init(nameservers: [SocketAddress] = [], attemptTimeout: Duration = .seconds(2),
                    lookupTimeout: Duration = .seconds(5), attempts: Int = 2, cacheCapacity: Int = 10_000,
                    maximumTTL: UInt32 = 3600, negativeTTL: UInt32 = 300) {
            self.nameservers = nameservers
            self.attemptTimeout = attemptTimeout
            self.lookupTimeout = lookupTimeout
            self.attempts = max(1, attempts)
            self.cacheCapacity = max(1, cacheCapacity)
            self.maximumTTL = maximumTTL
            self.negativeTTL = negativeTTL
        }
    }

    public final class Statistics: Sendable {
        public let queriesSent = Atomic<Int>(0)
        public let cacheHits = Atomic<Int>(0)
        public let failures = Atomic<Int>(0)
    }

    private struct CacheKey: Hashable { let name: String; let type: DNSRecordType }
    private struct CacheEntry { let answer: DNSAnswer; let expires: ContinuousClock.Instant; let inserted: UInt64 }
    private struct Cache { var entries: [CacheKey: CacheEntry] = [:]; var sequence: UInt64 = 0 }

    public let configuration: Configuration
    public let statistics = Statistics()
    private let nameservers: [SocketAddress]
    private let cache = Mutex(Cache())

    public init(configuration: Configuration) {
        self.configuration = configuration
        nameservers = configuration.nameservers.isEmpty ? Nameserver.systemDefaults() : configuration.nameservers
    }

    /// Looks up `name`/`type`, from the cache when fresh. Never takes longer than
    /// `lookupTimeout`, nor past the thread's `DNSDeadline`.
    public func lookup(_ name: String, _ type: DNSRecordType) -> Result<DNSAnswer, DNSFailure> {
        let normalized: String
        do { normalized = try DNSMessage.normalizedName(name) } catch { return .failure(error) }
        let key = CacheKey(name: normalized, type: type)
        let now = ContinuousClock.now
        if let hit = cache.withLock({ $0.entries[key] }), hit.expires > now {
            statistics.cacheHits.add(1, ordering: .relaxed)
            return .success(hit.answer)
        }
        var deadline = now.advanced(by: configuration.lookupTimeout)
        if let threadDeadline = DNSDeadline.current { deadline = min(deadline, threadDeadline) }
        let result = resolve(normalized, type, deadline: deadline)
        if let observe = configuration.observeLookup {
            if case .failure = result { observe(ContinuousClock.now - now, true) } else { observe(ContinuousClock.now - now, false) }
        }
        switch result {
        case .success(let answer):
            store(key, answer)
        case .failure:
            statistics.failures.add(1, ordering: .relaxed)
        }
        return result
    }

    private func resolve(_ name: String, _ type: DNSRecordType, deadline: ContinuousClock.Instant) -> Result<DNSAnswer, DNSFailure> {
        guard !nameservers.isEmpty else { return .failure(.noNameserver) }
        var lastFailure = DNSFailure.timedOut
        for _ in 0..<configuration.attempts {
            for server in nameservers {
                let now = ContinuousClock.now
                guard now < deadline else { return .failure(.timedOut) }
                let attemptDeadline = min(deadline, now.advanced(by: configuration.attemptTimeout))
                let id = DNSRandom.transactionID()
                statistics.queriesSent.add(1, ordering: .relaxed)
                do {
                    let wire = try DNSTransport.exchange(query: DNSMessage.query(id: id, name: name, type: type),
                                                         with: server, deadline: attemptDeadline)
                    return .success(try answer(from: wire, name: name, type: type, server: server))
                } catch {
                    lastFailure = error
                    // NXDOMAIN/NODATA are answers; only "could not tell" moves on.
                }
            }
        }
        return .failure(lastFailure)
    }

    private func answer(from wire: [UInt8], name: String, type: DNSRecordType, server: SocketAddress) throws(DNSFailure) -> DNSAnswer {
        let parsed = try DNSMessage.parse(wire)
        guard parsed.questionName == name, parsed.questionType == type.rawValue else {
            throw .malformedResponse("answer from \(server) does not match the question")
        }
        switch parsed.responseCode {
        case .noError:
            let records = parsed.answers.filter { $0.type == type.rawValue }
            let ttl = records.map(\.ttl).min().map { min($0, configuration.maximumTTL) } ?? configuration.negativeTTL
            return DNSAnswer(status: records.isEmpty ? .noData : .records, records: records, wire: wire, ttl: ttl)
        case .nameError:
            return DNSAnswer(status: .nameDoesNotExist, records: [], wire: wire, ttl: configuration.negativeTTL)
        default:
            throw .serverError("\(server) answered \(parsed.responseCode) for \(name)/\(type)")
        }
    }

    private func store(_ key: CacheKey, _ answer: DNSAnswer) {
        guard answer.ttl > 0 else { return }
        let now = ContinuousClock.now
        let expires = now.advanced(by: .seconds(Int64(answer.ttl)))
        let capacity = configuration.cacheCapacity
        cache.withLock { cache in
            if cache.entries.count >= capacity {
                cache.entries = cache.entries.filter { $0.value.expires > now }
                if cache.entries.count >= capacity {
                    let cutoff = cache.entries.values.map(\.inserted).sorted()[cache.entries.count / 2]
                    cache.entries = cache.entries.filter { $0.value.inserted >= cutoff }
                }
            }
            cache.sequence &+= 1
            cache.entries[key] = CacheEntry(answer: answer, expires: expires, inserted: cache.sequence)
        }
    }

    /// Forgets every cached answer (tests, or after a zone change).
    public func flushCache() { cache.withLock { $0.entries.removeAll() } }
}
