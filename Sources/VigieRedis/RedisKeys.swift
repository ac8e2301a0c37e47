/// The names of Vigie's keys, all under one prefix (`[store] redis_key_prefix`,
/// "vigie:" by default) so that several Vigie installations, or other programs,
/// can share a server.
///
///     PREFIX lock-id                 string   INCR gives every lock an id unique across hosts
///     PREFIX locks                   hash     account -> id of its lock in force
///     PREFIX lock:ID                 hash     account, locked_at, actor, reason,
///                                             and once ended unlocked_at, unlocked_by, unlock_reason
///     PREFIX account-locks:ACCOUNT   list     ids of every lock the account has had, oldest first
///     PREFIX evidence:ID             hash     queue id -> "ACCEPTED_AT TRIPPED ORDER"
///     PREFIX audit:ACCOUNT           list     audit lines, JSON (`AuditEvent`), oldest first
///     PREFIX counters                hash     account -> AccountCounters snapshot (141 bytes)
///     PREFIX histories               hash     account -> SendingHistory snapshot (259 bytes)
///     PREFIX shared:ACCOUNT          string   the shared sliding windows (RedisSharedCounters): one
///                                             `SharedWindowsRecord`, with a TTL (`windows:ACCOUNT`, a hash of
///                                             one record a window, and `count:ACCOUNT`, three decimal
///                                             fields a window, were the layouts before; left to their TTL)
///     PREFIX lock-events             channel  a `RedisLockAnnouncement` per lock and unlock
///
/// Times are milliseconds since the Unix epoch, as in the SQLite store. Locks, their
/// evidence and the audit trail never expire, like the SQLite file's rows; only the
/// counting keys carry a TTL.
struct RedisKeys: Sendable {
    let prefix: String

    var lockID: [UInt8] { key("lock-id") }
    var locksInForce: [UInt8] { key("locks") }
    var counters: [UInt8] { key("counters") }
    var histories: [UInt8] { key("histories") }
    var lockChannel: [UInt8] { key("lock-events") }
    func lock(_ id: Int64) -> [UInt8] { key("lock:\(id)") }
    func evidence(_ id: Int64) -> [UInt8] { key("evidence:\(id)") }
    func accountLocks(_ account: String) -> [UInt8] { key("account-locks:" + account) }
    func audit(_ account: String) -> [UInt8] { key("audit:" + account) }
    func shared(_ account: String) -> [UInt8] { key("shared:" + account) }

    private func key(_ name: String) -> [UInt8] { Array((prefix + name).utf8) }
}
