import Foundation
import Logging
import Synchronization
import VigieConfig
import VigieCore
import VigieRedis
import VigieStore

/// Store glue: which `StateStore` the daemon runs on (`[store] backend`), and
/// what comes with it. Kept out of `SubmissionRole` so that its start-up reads as steps.
///
/// - `sqlite` (one host): `SQLiteStateStore` at `[daemon] state_path`; the policy
///   counts in its own shards, as always.
/// - `redis` (several hosts): `RedisStateStore` for locks, audit trail, evidence
///   and snapshots; `RedisSharedCounters` for every decision that counts (the
///   policy's `SharedCounting`); a `RedisLockSubscriber` that puts locks recorded by
///   other hosts in force here (rereading them all after each subscription); and a
///   probe thread, `vigie-redis-probe`, that brings the policy back from degraded
///   mode (adding what it counted alone) and keeps `vigie_store_degraded` current.
///
/// Security: the password file is read by the daemon user (after the privilege
/// drop), so it must be readable by that user and no one else.
/// Diagnostics: "shared counts unreachable", "shared counts reachable again",
/// "lock subscription lost/restored" in the mail log; `vigie_store_errors_total`,
/// `vigie_store_degraded`. Known limitation: Redis must answer at start (the locks
/// in force are read before serving: a host that cannot know them does not start,
/// and Postfix tempfails meanwhile).
final class StoreComposition: Sendable {
    let store: any StateStore
    let sharedCounting: (any SharedCounting)?
    /// Where state lives, for the start line and `vigiectl status`.
    let location: String
    private let sqlite: SQLiteStateStore?
    private let redis: RedisParts?

    /// What only the Redis backend has.
    private final class RedisParts: Sendable {
        let store: RedisStateStore
        let options: RedisConnectionOptions
        let keyPrefix: String
        let subscribed = Atomic<Bool>(false)
        let stopping = Atomic<Bool>(false)
        let probeFinished = DispatchSemaphore(value: 0)
        let subscriber = Mutex<RedisLockSubscriber?>(nil)

        init(store: RedisStateStore, options: RedisConnectionOptions, keyPrefix: String) {
            self.store = store
            self.options = options
            self.keyPrefix = keyPrefix
        }
    }

    /// The most connections decisions open: one per decision running at once, up to
    /// this many, opened as the concurrency asks for them (an idle host holds one).
    /// A fixed 4 made 8 and 64 concurrent sessions queue for a connection (p50 1.7
    /// and 17.5 ms, benchmarks/results/redis-store.md); Redis still runs one command
    /// at a time, but a caller waiting in its socket costs no handoff here. Postfix's
    /// default_process_limit is 100: past 64 concurrent decisions, callers share.
    static let countingConnections = 64
    /// How often the probe thread looks at a degraded policy and the gauge.
    static let probeInterval = Duration.milliseconds(250)

    private init(store: any StateStore, sharedCounting: (any SharedCounting)?, location: String,
                 sqlite: SQLiteStateStore?, redis: RedisParts?) {
        self.store = store
        self.sharedCounting = sharedCounting
        self.location = location
        self.sqlite = sqlite
        self.redis = redis
    }

    /// Opens the configured store; a Redis server that does not answer, or refuses
    /// the password, fails the start with what to check.
    static func open(configuration: VigieConfiguration) throws -> StoreComposition {
        let daemon = configuration.daemon
        let settings = configuration.store
        switch settings.backend {
        case .sqlite:
            let store = try SQLiteStateStore(path: daemon.statePath,
                                             busyTimeoutMilliseconds: Int32(daemon.decisionTimeout.milliseconds),
                                             verifyIntegrity: true)
            return StoreComposition(store: store, sharedCounting: nil, location: daemon.statePath, sqlite: store, redis: nil)
        case .redis:
            let options = try redisOptions(settings)
            let store = try RedisStateStore(options: options, keyPrefix: settings.redisKeyPrefix)
            let counters = try RedisSharedCounters(options: options, keyPrefix: settings.redisKeyPrefix,
                                                   connections: countingConnections)
            return StoreComposition(
                store: store, sharedCounting: counters,
                location: "redis \(options.endpoint) db \(options.database) prefix \(settings.redisKeyPrefix)",
                sqlite: nil, redis: RedisParts(store: store, options: options, keyPrefix: settings.redisKeyPrefix))
        }
    }

    static func redisOptions(_ settings: StoreSettings) throws -> RedisConnectionOptions {
        guard let server = settings.redisServer else {
            // The configuration refuses backend "redis" without redis_url; kept as an error, not a trap.
            throw RedisError(.configuration, "[store] backend is \"redis\" but redis_url is missing")
        }
        let endpoint: RedisEndpoint = switch server.address {
        case .unix(let path): .unix(path: path)
        case .tcp(let host, let port): .tcp(host: host, port: port)
        }
        let password = try settings.redisPasswordFile.map { path throws(RedisError) in try RedisPasswordFile.read(path: path) }
        return RedisConnectionOptions(endpoint: endpoint, database: server.database, password: password,
                                      timeout: settings.redisTimeout)
    }

    /// Whether this host decides alone (shared counts unreachable) or may miss
    /// other hosts' locks (subscription down): `vigie_store_degraded`.
    func isDegraded(policy: SendPolicy) -> Bool {
        guard let redis else { return false }
        return policy.isSharedCountingDegraded || !redis.subscribed.load(ordering: .acquiring)
    }

    /// Starts listening for other hosts' locks and the probe; after `policy.restore()`.
    func start(policy: SendPolicy, metrics: VigieMetrics, logger: Logger) {
        guard let redis else { return }
        let store = redis.store
        let subscriber = RedisLockSubscriber(options: redis.options, keyPrefix: redis.keyPrefix) { event in
            switch event {
            case .subscribed:
                do {
                    // Announcements made while unsubscribed are lost: reread them all.
                    policy.applyStoredLocks(try store.activeLocks())
                    if !redis.subscribed.exchange(true, ordering: .acquiringAndReleasing) {
                        logger.notice("lock subscription restored: locks in force reread", metadata: ["store": "\(store.server)"])
                    }
                } catch {
                    metrics.storeErrors.increment()
                    logger.error("lock subscription: cannot reread the locks in force", metadata: ["error": "\(error)"])
                }
            case .announced(let announcement):
                let account = AccountName(normalized: announcement.account)
                switch announcement.event {
                case .unlock:
                    policy.applyStoredUnlock(account: account, lockID: announcement.id)
                case .lock:
                    do {
                        if let lock = try store.activeLocks().first(where: { $0.id == announcement.id }) {
                            policy.applyStoredLock(lock)
                        }
                    } catch {
                        metrics.storeErrors.increment()
                        logger.error("lock announced but not readable", metadata: [
                            "account": "\(account)", "lock.id": "\(announcement.id)", "error": "\(error)",
                        ])
                    }
                }
            case .unreadable(let payload):
                logger.warning("lock announcement this Vigie cannot read, ignored", metadata: ["bytes": "\(payload.count)"])
            case .disconnected(let error):
                if redis.subscribed.exchange(false, ordering: .acquiringAndReleasing) {
                    metrics.storeDegraded.set(to: 1)
                    logger.error("lock subscription lost: other hosts' locks arrive when it is back", metadata: ["error": "\(error)"])
                }
                metrics.storeErrors.increment()
            }
        }
        redis.subscriber.withLock { $0 = subscriber }
        subscriber.start()

        let probe = Thread { [self] in
            while !redis.stopping.load(ordering: .acquiring) {
                Thread.sleep(forTimeInterval: Double(Self.probeInterval.milliseconds) / 1000)
                if policy.isSharedCountingDegraded { policy.reconcileSharedCounts() }
                metrics.storeDegraded.set(to: isDegraded(policy: policy) ? 1 : 0)
            }
            redis.probeFinished.signal()
        }
        probe.name = "vigie-redis-probe"
        probe.start()
    }

    /// Stops the subscriber and the probe (after the last flush, which may still write).
    func stop() {
        guard let redis else { return }
        redis.stopping.store(true, ordering: .releasing)
        redis.subscriber.withLock { $0 }?.stop()
        if redis.subscriber.withLock({ $0 }) != nil { redis.probeFinished.wait() }
    }

    /// SQLite: the log into the file at a clean stop. Redis: nothing (its own persistence).
    func checkpoint() throws {
        try sqlite?.checkpoint()
    }
}
