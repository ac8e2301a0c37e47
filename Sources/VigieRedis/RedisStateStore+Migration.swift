/// What `vigiectl store migrate --to redis` needs beyond the `StateStore` calls:
/// seeing whether the prefix already holds Vigie state, emptying it (`--force`),
/// and keeping the source's lock ids. The copy itself goes through the `StateStore`
/// calls (VigieCore's `StateStoreCopy`), so these scripts' formats are written by
/// this store's own code only.
///
/// Security: `removeState` deletes every lock and audit line under the prefix. Only
/// the migration calls it, and only when the admin said `--force`.
extension RedisStateStore {
    /// The Vigie keys found under the prefix, by kind (`RedisKeys` lists them).
    public struct Inventory: Sendable, Equatable, Codable {
        public var locksInForce = 0
        /// `lock:ID` hashes: every lock, in force or ended.
        public var locks = 0
        /// `audit:ACCOUNT` lists.
        public var auditTrails = 0
        /// `evidence:ID` hashes.
        public var evidence = 0
        /// Fields of the `counters` and `histories` hashes.
        public var counters = 0
        public var histories = 0
        /// `shared:ACCOUNT` (and the older `windows:ACCOUNT` and `count:ACCOUNT`): the shared counts hosts on Redis decide on. Never written
        /// nor removed by the migration, but they show that hosts already use the prefix.
        public var sharedCounts = 0
        /// `lock-id`, `account-locks:ACCOUNT`, and any other key under the prefix.
        public var otherKeys = 0

        public init() {}

        public var isEmpty: Bool { self == Inventory() }

        /// "2 locks in force, 5 locks, 3 audit trails, ..." (only what is there).
        public var description: String {
            let parts = [(locksInForce, "locks in force"), (locks, "locks"), (auditTrails, "audit trails"),
                         (evidence, "evidence sets"), (counters, "counter snapshots"), (histories, "sending histories"),
                         (sharedCounts, "shared counts"), (otherKeys, "other keys")]
            return parts.filter { $0.0 > 0 }.map { "\($0.0) \($0.1)" }.joined(separator: ", ")
        }
    }

    /// Counts the keys under the prefix (SCAN, so a large server is not blocked).
    public func inventory() throws -> Inventory {
        var inventory = Inventory()
        for key in try keysUnderPrefix() {
            switch kind(of: key) {
            case .locksInForce: inventory.locksInForce = try hashLength(key)
            case .counters: inventory.counters = try hashLength(key)
            case .histories: inventory.histories = try hashLength(key)
            case .lock: inventory.locks += 1
            case .audit: inventory.auditTrails += 1
            case .evidence: inventory.evidence += 1
            case .sharedCount: inventory.sharedCounts += 1
            case .lockID, .accountLocks, .other: inventory.otherKeys += 1
            }
        }
        return inventory
    }

    /// Deletes what a migration writes (locks, lock ids, evidence, audit trails,
    /// counter and history snapshots) under the prefix. Shared counts and keys that
    /// are not Vigie's are left. Returns how many keys went.
    @discardableResult
    public func removeState() throws -> Int {
        let doomed = try keysUnderPrefix().filter { key in
            switch kind(of: key) {
            case .sharedCount, .other: false
            default: true
            }
        }
        try withConnection("cannot remove the Vigie state under \(keys.prefix)") { redis in
            var start = 0
            while start < doomed.count {
                let batch = doomed[start..<min(start + Self.batchSize, doomed.count)]
                _ = try redis.withTimeout(bulkTimeout) { redis throws(RedisError) in
                    try redis.command([Array("DEL".utf8)] + batch.map { Array($0.utf8) })
                }
                start += batch.count
            }
        }
        return doomed.count
    }

    /// Sets the lock id counter so that the next `recordLock` takes `id` (INCR gives
    /// the value after). The migration calls it before each lock it copies, into an
    /// empty prefix, so the locks keep the ids the source gave them.
    public func prepareLockID(_ id: Int64) throws {
        try setLockIDCounter(id - 1, "cannot prepare lock id \(id)")
    }

    /// Leaves the counter at `highest` (the largest id copied) unless it is already
    /// past it, so the next lock any host takes gets a new id.
    public func finishLockIDs(highest: Int64) throws {
        try withConnection("cannot set the lock id counter") { redis in
            let current = try redis.command([Array("GET".utf8), keys.lockID]).integer ?? 0
            if current < highest {
                _ = try redis.command([Array("SET".utf8), keys.lockID, Array(String(highest).utf8)])
            }
        }
    }

    private func setLockIDCounter(_ value: Int64, _ doing: String) throws {
        try withConnection(doing) { redis in
            _ = try redis.command([Array("SET".utf8), keys.lockID, Array(String(value).utf8)])
        }
    }

    // MARK: Keys

    private enum KeyKind { case lockID, locksInForce, counters, histories, lock, accountLocks, evidence, audit, sharedCount, other }

    private func kind(of key: String) -> KeyKind {
        let name = key.dropFirst(keys.prefix.count)
        switch name {
        case "lock-id": return .lockID
        case "locks": return .locksInForce
        case "counters": return .counters
        case "histories": return .histories
        default: break
        }
        if name.hasPrefix("lock:"), Int64(name.dropFirst("lock:".count)) != nil { return .lock }
        if name.hasPrefix("evidence:"), Int64(name.dropFirst("evidence:".count)) != nil { return .evidence }
        if name.hasPrefix("account-locks:") { return .accountLocks }
        if name.hasPrefix("audit:") { return .audit }
        if name.hasPrefix("shared:") || name.hasPrefix("windows:") || name.hasPrefix("count:") { return .sharedCount }
        return .other
    }

    /// Every key starting with the prefix. The prefix is matched literally: its glob
    /// characters (which the configuration refuses anyway) are escaped.
    private func keysUnderPrefix() throws -> [String] {
        var pattern = ""
        for character in keys.prefix {
            if "*?[]\\".contains(character) { pattern.append("\\") }
            pattern.append(character)
        }
        pattern.append("*")
        return try withConnection("cannot list the keys under \(keys.prefix)") { redis in
            var found: [String] = []
            var cursor = "0"
            repeat {
                let reply = try redis.command([Array("SCAN".utf8), Array(cursor.utf8), Array("MATCH".utf8), Array(pattern.utf8),
                                               Array("COUNT".utf8), Array("1000".utf8)])
                guard let parts = reply.elements, parts.count == 2, let next = parts[0].text, let names = parts[1].elements else {
                    throw RedisError(.protocol, "SCAN answered \(reply)")
                }
                found += names.compactMap(\.text)
                cursor = next
            } while cursor != "0"
            // SCAN may return a key twice.
            return Array(Set(found)).sorted()
        }
    }

    private func hashLength(_ key: String) throws -> Int {
        try withConnection("cannot read \(key)") { redis in
            // TYPE first: a key of another type under a Vigie name is counted, not an error.
            guard try redis.command([Array("TYPE".utf8), Array(key.utf8)]).text == "hash" else { return 1 }
            return Int(try redis.command([Array("HLEN".utf8), Array(key.utf8)]).integer ?? 0)
        }
    }
}
