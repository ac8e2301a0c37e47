import Foundation
import Synchronization
import VigieCore

/// Vigie's state (locks, audit trail, lock evidence, counters, sending histories)
/// on a Redis server that several Postfix hosts share (issue 12).
///
/// The daemon runs on it with `[store] backend = "redis"` (VigieDaemon's
/// `StoreComposition`); counting itself is `RedisSharedCounters`. `saveCounters`
/// writes one host's in-memory snapshot, as the SQLite store does; two hosts
/// flushing the same account overwrite each other (the shared counts are apart).
///
/// Thread model: one connection behind a `Mutex`, as `SQLiteStateStore` does. Redis
/// runs one command at a time anyway, and every call is one round trip (a script,
/// or a pipelined MULTI/EXEC), so a pool would buy little. Calls block for at most
/// about `options.timeout` per round trip: run them on the daemon's own threads.
///
/// Atomicity: a lock, its audit line, its evidence and its announcement are one
/// Lua script (`RedisStateStore+Scripts.swift`), as is an unlock; a flush is one
/// MULTI/EXEC. Lock ids come from INCR on `PREFIX lock-id`, so they are unique
/// across every host sharing the server.
///
/// Security: the server holds account names and the reasons and actors of every
/// lock. Reach it over a unix socket or a private network with `requirepass`;
/// the password comes from a file (`RedisPasswordFile`).
///
/// Diagnostics: every error is a `RedisError` naming what the store was doing and
/// the server. `redis-cli --scan --pattern 'vigie:*'` lists the keys (`RedisKeys`
/// describes them); `redis-cli SUBSCRIBE vigie:lock-events` shows locks as they happen.
///
/// Known limitations: standalone Redis only (the scripts build key names from the
/// prefix, which Redis Cluster forbids). Durability is the server's: with
/// `appendonly no` a Redis restart loses locks. Run it with `appendonly yes` and
/// `appendfsync everysec` at least.
public final class RedisStateStore: StateStore {
    /// Where the server is, for messages.
    public let server: String
    let keys: RedisKeys
    /// The budget of a flush or a load of every snapshot, which no decision waits on.
    let bulkTimeout: Duration
    private let connection: Mutex<RedisConnection>

    /// Connects (so a wrong address or password fails now) with every key under
    /// `keyPrefix`. Each call waits at most `options.timeout`, except the snapshot
    /// saves and loads (`bulkTimeout`): 100k accounts are 15 MB each way.
    public init(options: RedisConnectionOptions, keyPrefix: String = "vigie:", bulkTimeout: Duration = .seconds(10)) throws(RedisError) {
        server = "redis \(options.endpoint)"
        keys = RedisKeys(prefix: keyPrefix)
        self.bulkTimeout = max(bulkTimeout, options.timeout)
        do {
            connection = Mutex(try RedisConnection(options: options))
        } catch {
            var error = error
            error.context = "cannot connect to \(server)"
            throw error
        }
    }

    // MARK: Locks

    public func activeLocks() throws -> [AccountLock] {
        try withConnection("cannot read the locks in force") { redis in
            let reply = try redis.evaluate(Self.activeLocksScript, keys: [keys.locksInForce], arguments: [bytes(keys.prefix)])
            var locks: [AccountLock] = []
            for row in try Self.rows(reply, "the locks in force") {
                guard let id = row.first?.integer else { throw Self.unreadable("a lock id in \(keys.prefix)locks") }
                locks.append(try Self.lock(id: id, fields: Array(row.dropFirst())))
            }
            // The order SQLite's `ORDER BY locked_at, id` gives.
            return locks.sorted { ($0.lockedAt, $0.id ?? 0) < ($1.lockedAt, $1.id ?? 0) }
        }
    }

    /// Writes the lock, its audit line and its evidence in one script, and announces
    /// it on `PREFIX lock-events`. If the account already has a lock in force (taken
    /// by another host, or a race with an admin), that lock is returned unchanged and
    /// nothing is written: one lock per account, and the first one's reason and
    /// evidence stand.
    public func recordLock(_ lock: AccountLock, evidence: [(queueID: String, acceptedAt: UnixTime)]) throws -> AccountLock {
        try withConnection("cannot record the lock of \(lock.account)") { redis in
            let audit = AuditEvent(at: lock.lockedAt, account: lock.account, action: .lock, actor: lock.actor, reason: lock.reason)
            var arguments = [bytes(keys.prefix), bytes(lock.account), decimal(lock.lockedAt.milliseconds), bytes(lock.actor),
                             bytes(lock.reason), try Self.encode(audit), keys.lockChannel]
            for message in evidence {
                arguments.append(bytes(message.queueID))
                arguments.append(decimal(message.acceptedAt.milliseconds))
            }
            let reply = try redis.evaluate(
                Self.recordLockScript,
                keys: [keys.locksInForce, keys.lockID, keys.audit(lock.account), keys.accountLocks(lock.account)],
                arguments: arguments)
            guard let fields = reply.elements, fields.count >= 2, let created = fields[0].integer, let id = fields[1].integer else {
                throw RedisError(.protocol, "record-lock answered \(reply)")
            }
            if created == 1 {
                var stored = lock
                stored.id = id
                return stored
            }
            return try Self.lock(id: id, fields: Array(fields.dropFirst(2)))
        }
    }

    /// Adds one queue id to an existing lock's evidence. Recording the same queue id
    /// twice keeps one entry (tripped if either call said so), so a retry is harmless.
    /// Evidence for a lock that does not exist is refused (kind `.constraint`).
    public func addEvidence(_ evidence: LockEvidence) throws {
        try withConnection("cannot record evidence \(evidence.queueID) for lock \(evidence.lockID)") { redis in
            do {
                _ = try redis.evaluate(
                    Self.addEvidenceScript, keys: [keys.lock(evidence.lockID), keys.evidence(evidence.lockID)],
                    arguments: [bytes(evidence.queueID), decimal(evidence.acceptedAt.milliseconds),
                                bytes(evidence.tripped ? "1" : "0"), decimal(evidence.lockID)])
            } catch let error as RedisError where error.kind == .server && error.message.contains("NOLOCK") {
                throw RedisError(.constraint, "there is no lock \(evidence.lockID)")
            }
        }
    }

    /// Ends the lock in force, writes its audit line and announces it, in one script.
    /// When the account is not locked, returns nil and writes nothing.
    public func recordUnlock(account: AccountName, at: UnixTime, actor: String, reason: String) throws -> AccountLock? {
        try withConnection("cannot record the unlock of \(account)") { redis in
            let audit = AuditEvent(at: at, account: account.value, action: .unlock, actor: actor, reason: reason)
            let reply = try redis.evaluate(
                Self.recordUnlockScript, keys: [keys.locksInForce, keys.audit(account.value)],
                arguments: [bytes(keys.prefix), bytes(account.value), decimal(at.milliseconds), bytes(actor), bytes(reason),
                            try Self.encode(audit), keys.lockChannel])
            guard let fields = reply.elements, let ended = fields.first?.integer else {
                throw RedisError(.protocol, "record-unlock answered \(reply)")
            }
            guard ended == 1 else { return nil }
            guard fields.count >= 2, let id = fields[1].integer else { throw RedisError(.protocol, "record-unlock answered \(reply)") }
            return try Self.lock(id: id, fields: Array(fields.dropFirst(2)))
        }
    }

    // MARK: Audit and evidence

    public func recordAudit(_ event: AuditEvent) throws {
        try withConnection("cannot record the \(event.action.rawValue) of \(event.account)") { redis in
            _ = try redis.command([bytes("RPUSH"), keys.audit(event.account), try Self.encode(event)])
        }
    }

    /// The account's audit lines in the order they were written.
    public func auditTrail(account: AccountName) throws -> [AuditEvent] {
        try withConnection("cannot read the audit trail of \(account)") { redis in
            let reply = try redis.command([bytes("LRANGE"), keys.audit(account.value), bytes("0"), bytes("-1")])
            guard let lines = reply.elements else { throw RedisError(.protocol, "LRANGE answered \(reply)") }
            return try lines.enumerated().map { index, line in
                guard let json = line.bytes, let event = try? JSONDecoder().decode(AuditEvent.self, from: Data(json)) else {
                    // Vigie writes only lines it can read, so this is a hand edit or a newer Vigie.
                    throw RedisError(.data, "entry \(index) of \(keys.prefix)audit:\(account) is not an audit line this Vigie can read",
                                     remedy: "correct or remove it with redis-cli LSET or LREM")
                }
                return event
            }
        }
    }

    /// Evidence of every lock the account has had: newest lock first, and within a
    /// lock in the order the messages were accepted (then recorded).
    public func evidence(account: AccountName) throws -> [LockEvidence] {
        try withConnection("cannot read the lock evidence of \(account)") { redis in
            let reply = try redis.evaluate(Self.evidenceScript, keys: [keys.accountLocks(account.value)], arguments: [bytes(keys.prefix)])
            var locks: [(id: Int64, lockedAt: Int64, evidence: [(LockEvidence, order: Int64)])] = []
            for row in try Self.rows(reply, "the lock evidence") {
                guard row.count == 3, let id = row[0].integer, let lockedAt = row[1].integer, let pairs = row[2].elements,
                      pairs.count % 2 == 0 else {
                    throw Self.unreadable("a lock of \(keys.prefix)account-locks:\(account)")
                }
                var evidence: [(LockEvidence, order: Int64)] = []
                for index in stride(from: 0, to: pairs.count, by: 2) {
                    guard let queueID = pairs[index].text, let packed = pairs[index + 1].text,
                          let entry = Self.evidenceEntry(packed, lockID: id, queueID: queueID) else {
                        throw Self.unreadable("an entry of \(keys.prefix)evidence:\(id)")
                    }
                    evidence.append(entry)
                }
                evidence.sort { ($0.0.acceptedAt, $0.order) < ($1.0.acceptedAt, $1.order) }
                locks.append((id, lockedAt, evidence))
            }
            locks.sort { ($0.lockedAt, $0.id) > ($1.lockedAt, $1.id) }
            return locks.flatMap { $0.evidence.map(\.0) }
        }
    }

    // MARK: Counters and histories

    public func loadCounters() throws -> [(AccountName, AccountCounters)] {
        try loadCountersSkippingUnreadable().counters
    }

    /// The saved counters, and the accounts whose snapshots could not be decoded
    /// (a newer Vigie, damage): those start again from zero, the safe side.
    public func loadCountersSkippingUnreadable() throws -> (counters: [(AccountName, AccountCounters)], unreadable: [AccountName]) {
        let rows = try loadSnapshots(keys.counters, what: "counters")
        var counters: [(AccountName, AccountCounters)] = []
        var unreadable: [AccountName] = []
        for (account, snapshot) in rows {
            if let decoded = snapshot.withUnsafeBytes({ AccountCounters(snapshot: $0) }) {
                counters.append((account, decoded))
            } else {
                unreadable.append(account)
            }
        }
        return (counters, unreadable)
    }

    public func saveCounters(_ changes: [(AccountName, AccountCounters?)]) throws {
        try saveSnapshots(changes, key: keys.counters, what: "counters") { $0.snapshotBytes() }
    }

    public func loadHistories() throws -> [(AccountName, SendingHistory)] {
        // An unreadable snapshot is an empty history: the account scores as new,
        // which never locks it.
        try loadSnapshots(keys.histories, what: "sending histories").compactMap { account, snapshot in
            SendingHistory(snapshot: snapshot).map { (account, $0) }
        }
    }

    public func saveHistories(_ changes: [(AccountName, SendingHistory?)]) throws {
        try saveSnapshots(changes, key: keys.histories, what: "sending histories") { $0.snapshot() }
    }

    /// One account's fields of the two snapshot hashes, both HGETs in one round trip
    /// (read by a decision when the account left memory, so within the decision's
    /// bound, not the bulk one).
    public func loadAccount(_ account: AccountName) throws -> StoredAccount {
        try withConnection("cannot read the saved state of \(account)") { redis in
            let field = bytes(account.value)
            let replies = try redis.pipeline([[bytes("HGET"), keys.counters, field], [bytes("HGET"), keys.histories, field]])
            guard replies.count == 2 else { throw RedisError(.protocol, "HGET answered \(replies)") }
            for case .error(let message) in replies { throw RedisError(.server, message) }
            return StoredAccount(
                counters: replies[0].bytes.flatMap { snapshot in snapshot.withUnsafeBytes { AccountCounters(snapshot: $0) } },
                history: replies[1].bytes.flatMap { SendingHistory(snapshot: $0) })
        }
    }

    /// Every field of a snapshot hash. HGETALL, one reply: 100k accounts of counters
    /// are 15 MB, read once at start.
    private func loadSnapshots(_ key: [UInt8], what: String) throws -> [(AccountName, [UInt8])] {
        try withConnection("cannot read the saved \(what)") { redis in
            let reply = try redis.withTimeout(bulkTimeout) { redis throws(RedisError) in try redis.command([bytes("HGETALL"), key]) }
            guard let fields = reply.elements, fields.count % 2 == 0 else { throw RedisError(.protocol, "HGETALL answered \(reply)") }
            var rows: [(AccountName, [UInt8])] = []
            rows.reserveCapacity(fields.count / 2)
            for index in stride(from: 0, to: fields.count, by: 2) {
                guard let account = fields[index].text, let snapshot = fields[index + 1].bytes else { continue }
                rows.append((AccountName(normalized: account), snapshot))
            }
            return rows
        }
    }

    /// Upserts and deletes in one MULTI/EXEC, pipelined: one round trip for a flush,
    /// and no host ever reads half of it. Large flushes are cut into HSET/HDEL
    /// commands of `batchSize` accounts so that no single command is huge.
    private func saveSnapshots<Value>(_ changes: [(AccountName, Value?)], key: [UInt8], what: String,
                                      encode: (Value) -> [UInt8]) throws {
        guard !changes.isEmpty else { return }
        try withConnection("cannot save the \(what) of \(changes.count) accounts") { redis in
            var commands: [[[UInt8]]] = [[bytes("MULTI")]]
            var upsert: [[UInt8]] = []
            var delete: [[UInt8]] = []
            func flushBatches(force: Bool) {
                if upsert.count >= 2 * Self.batchSize || (force && !upsert.isEmpty) {
                    commands.append([bytes("HSET"), key] + upsert)
                    upsert.removeAll(keepingCapacity: true)
                }
                if delete.count >= Self.batchSize || (force && !delete.isEmpty) {
                    commands.append([bytes("HDEL"), key] + delete)
                    delete.removeAll(keepingCapacity: true)
                }
            }
            for (account, value) in changes {
                if let value {
                    upsert.append(bytes(account.value))
                    upsert.append(encode(value))
                } else {
                    delete.append(bytes(account.value))
                }
                flushBatches(force: false)
            }
            flushBatches(force: true)
            commands.append([bytes("EXEC")])
            let replies = try redis.withTimeout(bulkTimeout) { redis throws(RedisError) in try redis.pipeline(commands) }
            // MULTI's OK and each QUEUED, then EXEC's array; a command refused while
            // queueing makes EXEC fail (EXECABORT) and nothing is written.
            for reply in replies.dropLast() {
                if case .error(let text) = reply { throw RedisError(.server, text) }
            }
            guard let results = replies.last?.elements else {
                if case .error(let text)? = replies.last { throw RedisError(.server, text) }
                throw RedisError(.protocol, "EXEC answered \(replies.last.map { "\($0)" } ?? "nothing")")
            }
            for result in results {
                if case .error(let text) = result { throw RedisError(.server, text) }
            }
        }
    }

    static let batchSize = 512

    // MARK: Helpers

    /// Runs `body` with the connection held, and words any Redis error in terms of
    /// what the store was doing.
    func withConnection<Result: Sendable>(_ doing: @autoclosure () -> String, _ body: (RedisConnection) throws -> Result) throws -> Result {
        do {
            return try connection.withLock { redis throws -> Result in try body(redis) }
        } catch var error as RedisError {
            error.context = "\(doing()) in \(server)"
            throw error
        }
    }

    /// A lock from `account, locked_at, actor, reason` fields of a script's reply.
    private static func lock(id: Int64, fields: [RedisReply]) throws -> AccountLock {
        guard fields.count == 4, let account = fields[0].text, let lockedAt = fields[1].integer,
              let actor = fields[2].text, let reason = fields[3].text else {
            throw unreadable("lock \(id)")
        }
        return AccountLock(account: AccountName(normalized: account), lockedAt: UnixTime(milliseconds: lockedAt),
                           actor: actor, reason: reason, id: id)
    }

    /// "ACCEPTED_AT TRIPPED ORDER", as the scripts write it.
    private static func evidenceEntry(_ packed: String, lockID: Int64, queueID: String) -> (LockEvidence, order: Int64)? {
        let parts = packed.split(separator: " ")
        guard parts.count == 3, let acceptedAt = Int64(parts[0]), let order = Int64(parts[2]),
              parts[1] == "0" || parts[1] == "1" else { return nil }
        return (LockEvidence(lockID: lockID, queueID: queueID, acceptedAt: UnixTime(milliseconds: acceptedAt),
                             tripped: parts[1] == "1"), order)
    }

    private static func rows(_ reply: RedisReply, _ what: String) throws -> [[RedisReply]] {
        guard let rows = reply.elements else { throw RedisError(.protocol, "reading \(what): the script answered \(reply)") }
        return try rows.map { row in
            guard let fields = row.elements else { throw RedisError(.protocol, "reading \(what): the script answered \(reply)") }
            return fields
        }
    }

    private static func unreadable(_ what: String) -> RedisError {
        RedisError(.data, "\(what) is missing fields or holds values this Vigie cannot read",
                   remedy: "inspect it with redis-cli; Vigie writes these keys only through its scripts")
    }

    private static func encode(_ event: AuditEvent) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Array(try encoder.encode(event))
    }
}

private func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }
private func decimal(_ value: Int64) -> [UInt8] { Array(String(value).utf8) }
