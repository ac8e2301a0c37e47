import Synchronization
import VigieCore

/// Vigie's state (locks, audit trail, lock evidence, counters) in one SQLite file.
///
/// Thread model: one connection behind a `Mutex`. SQLite lets only one writer in at
/// a time whatever we do, and nearly every call here writes, so a connection per
/// thread would buy only concurrent reads (a rare `vigiectl status`) at the cost of
/// per-thread handles to track and close. Calls block, on the mutex and on disk:
/// run them on the daemon's own threads, never on Swift concurrency's pool.
///
/// Security: the file holds account names and the reasons and actors of every lock.
/// It is created with mode 0600, so SQLite gives its `-wal` and `-shm` the same;
/// files an older Vigie left wider are narrowed at open (`OwnerOnlyFiles`). Keep
/// the state directory owned by the daemon user.
///
/// Diagnostics: every error is a `SQLiteError` naming the file, what was being done,
/// and usually what to do. `sqlite3 state.sqlite 'SELECT * FROM audit'` reads the
/// trail while the daemon runs (WAL mode lets readers in).
///
/// Known limitations: counters rows that cannot be decoded (a newer snapshot
/// version, damage) are skipped at load and left in the file until that account's
/// next flush overwrites them. One file per host: several Postfix hosts sharing
/// limits need a shared `StateStore` (Redis), not this file on a network share.
public final class SQLiteStateStore: StateStore {
    /// The database file.
    public let path: String
    private let connection: Mutex<SQLiteConnection>

    /// Opens the state file at `path`, creating it if missing (its directory must
    /// exist), and migrates it to the current schema.
    public convenience init(path: String) throws {
        try self.init(path: path, busyTimeoutMilliseconds: SQLiteConnection.defaultBusyTimeoutMilliseconds)
    }

    /// Opens the state file as the daemon does: writes wait at most
    /// `busyTimeoutMilliseconds` for another process's transaction (`[daemon]
    /// decision_timeout`: a lock is written before the reply, so this bounds the
    /// decision), and with `verifyIntegrity` the whole file is checked first.
    ///
    /// Why check at start: SQLite reports damage only on the pages a query reads. A
    /// damaged page of the locks table holding no lock in force today, or of the audit
    /// trail, would let the daemon start and fail later, on a write, mid-burst. The
    /// quick check reads every page once (0.05 s for the 53 MB file of 100k accounts
    /// with counters and histories, `sqlite3 FILE "PRAGMA quick_check"`) and turns
    /// that into a refused start naming the file and what to do.
    public convenience init(path: String, busyTimeoutMilliseconds: Int32, verifyIntegrity: Bool = false) throws {
        let connection = try SQLiteConnection(path: path, busyTimeoutMilliseconds: busyTimeoutMilliseconds)
        if verifyIntegrity { try Self.verifyIntegrity(connection, path: path) }
        try SQLiteSchema.migrate(connection)
        // The migration read (and maybe wrote) the file: the -wal and -shm exist now.
        try connection.restrictFileModes()
        connection.allowCheckpointOnClose()
        self.init(path: path, connection: connection)
    }

    /// Wraps a connection already opened and checked (`init(readingOnly:)` too).
    init(path: String, connection: sending SQLiteConnection) {
        self.path = path
        self.connection = Mutex(connection)
    }

    /// `PRAGMA quick_check`, as a `SQLiteError` (code corrupt) naming the file and
    /// the first problems SQLite found.
    static func verifyIntegrity(_ connection: SQLiteConnection, path: String) throws {
        let problems: [String]
        do {
            problems = try connection.textColumn("PRAGMA quick_check(5)")
        } catch let error as SQLiteError {
            // Damage bad enough that the check itself stops on it.
            throw SQLiteError(code: .corrupt, extendedCode: error.extendedCode,
                              message: "the file fails SQLite's integrity check (\(error.message))",
                              context: "cannot use \(path)", remedy: SQLiteError.remedy(for: .corrupt))
        }
        guard problems != ["ok"] else { return }
        throw SQLiteError(code: .corrupt, message: "the file fails SQLite's integrity check (\(problems.joined(separator: "; ")))",
                          context: "cannot use \(path)", remedy: SQLiteError.remedy(for: .corrupt))
    }

    // MARK: Locks

    public func activeLocks() throws -> [AccountLock] {
        try withConnection("cannot read the locks in force") { db in
            let statement = try db.prepare(
                "SELECT id, account, locked_at, actor, reason FROM locks WHERE unlocked_at IS NULL ORDER BY locked_at, id")
            var locks: [AccountLock] = []
            while try statement.step() {
                locks.append(Self.lock(from: statement))
            }
            return locks
        }
    }

    /// Writes the lock, its audit line and its evidence in one transaction.
    ///
    /// If the account already has a lock in force (taken by another process, or
    /// a race between an admin and the burst rule), that lock is returned unchanged
    /// and nothing is written: one lock per account, and the first one's reason and
    /// evidence stand.
    public func recordLock(_ lock: AccountLock, evidence: [(queueID: String, acceptedAt: UnixTime)]) throws -> AccountLock {
        try withConnection("cannot record the lock of \(lock.account)") { db in
            try db.writeTransaction {
                if let existing = try Self.lockInForce(account: lock.account, db) { return existing }

                let insertLock = try db.prepare(
                    "INSERT INTO locks (account, locked_at, actor, reason) VALUES (?1, ?2, ?3, ?4)")
                try insertLock.bind(lock.account, at: 1)
                try insertLock.bind(lock.lockedAt.milliseconds, at: 2)
                try insertLock.bind(lock.actor, at: 3)
                try insertLock.bind(lock.reason, at: 4)
                try insertLock.run()
                var stored = lock
                stored.id = db.lastInsertRowID

                try Self.insertAudit(
                    AuditEvent(at: lock.lockedAt, account: lock.account, action: .lock, actor: lock.actor, reason: lock.reason), db)

                if !evidence.isEmpty, let lockID = stored.id {
                    let insertEvidence = try db.prepare(Self.insertEvidenceSQL)
                    for message in evidence {
                        try Self.bindEvidence(
                            LockEvidence(lockID: lockID, queueID: message.queueID, acceptedAt: message.acceptedAt, tripped: false),
                            to: insertEvidence)
                        try insertEvidence.run()
                        insertEvidence.reset()
                    }
                }
                return stored
            }
        }
    }

    /// Adds one queue id to an existing lock's evidence. Recording the same queue id
    /// twice keeps one row (marked tripped if either call said so), so a retry is harmless.
    public func addEvidence(_ evidence: LockEvidence) throws {
        try withConnection("cannot record evidence \(evidence.queueID) for lock \(evidence.lockID)") { db in
            let statement = try db.prepare(Self.insertEvidenceSQL)
            try Self.bindEvidence(evidence, to: statement)
            try statement.run()
        }
    }

    /// Ends the lock in force and writes its audit line, in one transaction. When the
    /// account is not locked, returns nil and writes nothing: the audit trail records
    /// what happened, and nothing did.
    public func recordUnlock(account: AccountName, at: UnixTime, actor: String, reason: String) throws -> AccountLock? {
        try withConnection("cannot record the unlock of \(account)") { db in
            try db.writeTransaction {
                guard let ended = try Self.lockInForce(account: account.value, db), let id = ended.id else { return nil }
                let update = try db.prepare(
                    "UPDATE locks SET unlocked_at = ?1, unlocked_by = ?2, unlock_reason = ?3 WHERE id = ?4")
                try update.bind(at.milliseconds, at: 1)
                try update.bind(actor, at: 2)
                try update.bind(reason, at: 3)
                try update.bind(id, at: 4)
                try update.run()
                try Self.insertAudit(
                    AuditEvent(at: at, account: account.value, action: .unlock, actor: actor, reason: reason), db)
                return ended
            }
        }
    }

    // MARK: Audit and evidence

    public func recordAudit(_ event: AuditEvent) throws {
        try withConnection("cannot record the \(event.action.rawValue) of \(event.account)") { db in
            try Self.insertAudit(event, db)
        }
    }

    /// The account's audit lines in the order they were written (oldest first in
    /// normal operation; written order wins if the wall clock stepped back).
    public func auditTrail(account: AccountName) throws -> [AuditEvent] {
        try withConnection("cannot read the audit trail of \(account)") { db in
            let statement = try db.prepare(
                "SELECT id, at, account, action, actor, reason FROM audit WHERE account = ?1 ORDER BY id")
            try statement.bind(account.value, at: 1)
            var events: [AuditEvent] = []
            while try statement.step() {
                let action = statement.text(at: 3)
                guard let known = AuditEvent.Action(rawValue: action) else {
                    // Migrations refuse files from a newer Vigie, so this is a hand edit.
                    throw SQLiteError(
                        code: .mismatch, message: "audit row \(statement.int64(at: 0)) has unknown action '\(action)'",
                        context: "cannot read the audit trail of \(account)",
                        remedy: "correct or delete that row with the sqlite3 shell")
                }
                events.append(AuditEvent(
                    at: UnixTime(milliseconds: statement.int64(at: 1)), account: statement.text(at: 2),
                    action: known, actor: statement.text(at: 4), reason: statement.text(at: 5)))
            }
            return events
        }
    }

    /// Evidence of every lock the account has had: newest lock first, and within a
    /// lock in the order the messages were accepted.
    public func evidence(account: AccountName) throws -> [LockEvidence] {
        try withConnection("cannot read the lock evidence of \(account)") { db in
            let statement = try db.prepare("""
                SELECT e.lock_id, e.queue_id, e.accepted_at, e.tripped
                FROM evidence e JOIN locks l ON l.id = e.lock_id
                WHERE l.account = ?1
                ORDER BY l.locked_at DESC, l.id DESC, e.accepted_at, e.rowid
                """)
            try statement.bind(account.value, at: 1)
            var evidence: [LockEvidence] = []
            while try statement.step() {
                evidence.append(LockEvidence(
                    lockID: statement.int64(at: 0), queueID: statement.text(at: 1),
                    acceptedAt: UnixTime(milliseconds: statement.int64(at: 2)), tripped: statement.bool(at: 3)))
            }
            return evidence
        }
    }

    // MARK: Counters

    public func loadCounters() throws -> [(AccountName, AccountCounters)] {
        try loadCountersSkippingUnreadable().counters
    }

    /// The saved counters, and the accounts whose rows could not be decoded (written
    /// by a newer Vigie, or damaged). Those accounts start again from zero; their rows
    /// are left in place for inspection until the next flush of the account replaces them.
    public func loadCountersSkippingUnreadable() throws -> (counters: [(AccountName, AccountCounters)], unreadable: [AccountName]) {
        try withConnection("cannot read the saved counters") { db in
            let statement = try db.prepare("SELECT account, snapshot FROM counters")
            var counters: [(AccountName, AccountCounters)] = []
            var unreadable: [AccountName] = []
            while try statement.step() {
                let account = AccountName(normalized: statement.text(at: 0))
                if let decoded = statement.withBlob(at: 1, { AccountCounters(snapshot: $0) }) {
                    counters.append((account, decoded))
                } else {
                    unreadable.append(account)
                }
            }
            return (counters, unreadable)
        }
    }

    public func saveCounters(_ changes: [(AccountName, AccountCounters?)]) throws {
        var snapshot = [UInt8](repeating: 0, count: AccountCounters.snapshotSize)
        try saveSnapshots(changes, table: "counters", what: "counters") { counters in
            snapshot.withUnsafeMutableBytes { counters.writeSnapshot(into: $0) }
            return snapshot
        }
    }

    /// Upserts and deletes of per-account snapshot rows (`counters`, `histories`) in
    /// one transaction, with one compiled statement of each kind reused for every
    /// row: a flush may carry 100k accounts. `nil` deletes the account's row.
    private func saveSnapshots<Value>(_ changes: [(AccountName, Value?)], table: StaticString, what: String,
                                      encode: (Value) -> [UInt8]) throws {
        guard !changes.isEmpty else { return }
        try withConnection("cannot save the \(what) of \(changes.count) accounts") { db in
            try db.writeTransaction {
                // For people reading the file only; one reading of SQLite's clock per flush.
                let updatedAt = try db.scalarInt64("SELECT CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)") ?? 0
                // The table name is one of our two constants, never input.
                let upsert = try db.prepare("""
                    INSERT INTO \(table) (account, snapshot, updated_at) VALUES (?1, ?2, ?3)
                    ON CONFLICT (account) DO UPDATE SET snapshot = excluded.snapshot, updated_at = excluded.updated_at
                    """)
                let delete = try db.prepare("DELETE FROM \(table) WHERE account = ?1")
                try upsert.bind(updatedAt, at: 3)
                for (account, value) in changes {
                    if let value {
                        let snapshot = encode(value)
                        try upsert.bind(account.value, at: 1)
                        try snapshot.withUnsafeBytes { try upsert.bind(blob: $0, at: 2) }
                        try upsert.run()
                        upsert.reset()
                    } else {
                        try delete.bind(account.value, at: 1)
                        try delete.run()
                        delete.reset()
                    }
                }
            }
        }
    }

    // MARK: Sending histories

    public func loadHistories() throws -> [(AccountName, SendingHistory)] {
        try withConnection("cannot read the saved sending histories") { db in
            let statement = try db.prepare("SELECT account, snapshot FROM histories")
            var histories: [(AccountName, SendingHistory)] = []
            while try statement.step() {
                // An unreadable snapshot (newer Vigie, damage) is an empty history:
                // the account scores as new, which never locks it.
                if let history = statement.withBlob(at: 1, { SendingHistory(snapshot: $0) }) {
                    histories.append((AccountName(normalized: statement.text(at: 0)), history))
                }
            }
            return histories
        }
    }

    public func saveHistories(_ changes: [(AccountName, SendingHistory?)]) throws {
        var snapshot = [UInt8](repeating: 0, count: SendingHistory.snapshotSize)
        try saveSnapshots(changes, table: "histories", what: "sending histories") { history in
            snapshot.withUnsafeMutableBytes { history.writeSnapshot(into: $0) }
            return snapshot
        }
    }

    // MARK: One account

    /// One account's rows, read by their primary keys with the connection held: the
    /// flush writes through the same connection, so the two reads see one flush.
    public func loadAccount(_ account: AccountName) throws -> StoredAccount {
        try withConnection("cannot read the saved state of \(account)") { db in
            var stored = StoredAccount()
            let counters = try db.prepare("SELECT snapshot FROM counters WHERE account = ?1")
            try counters.bind(account.value, at: 1)
            if try counters.step() { stored.counters = counters.withBlob(at: 0) { AccountCounters(snapshot: $0) } }
            let history = try db.prepare("SELECT snapshot FROM histories WHERE account = ?1")
            try history.bind(account.value, at: 1)
            if try history.step() { stored.history = history.withBlob(at: 0) { SendingHistory(snapshot: $0) } }
            return stored
        }
    }

    // MARK: Stopping

    /// Copies every commit from the write-ahead log into the database file and empties
    /// the log (`PRAGMA wal_checkpoint(TRUNCATE)`). The daemon calls it at a clean stop,
    /// after the last flush: until then the latest commits live in `state.sqlite-wal`
    /// only, and a backup that copies `state.sqlite` alone would miss them.
    public func checkpoint() throws {
        try withConnection("cannot checkpoint the write-ahead log") { db in
            let statement = try db.prepare("PRAGMA wal_checkpoint(TRUNCATE)")
            // One row: busy (1 when a reader or writer kept it from finishing), log frames, checkpointed frames.
            guard try statement.step() else { return }
            if statement.int64(at: 0) != 0 {
                throw SQLiteError(
                    code: .busy, message: "another process was reading the file (\(statement.int64(at: 2)) of \(statement.int64(at: 1)) log frames copied)",
                    context: "", remedy: "nothing is lost: the rest is in \(path)-wal; back up the whole directory, or use vigiectl backup")
            }
        }
    }

    // MARK: Helpers

    /// Runs `body` with the connection held, and words any SQLite error in terms of
    /// what the store was doing.
    func withConnection<Result: Sendable>(_ doing: @autoclosure () -> String, _ body: (SQLiteConnection) throws -> Result) throws -> Result {
        do {
            return try connection.withLock { db throws -> Result in try body(db) }
        } catch var error as SQLiteError {
            error.context = "\(doing()) in \(path)"
            throw error
        }
    }

    private static func lockInForce(account: String, _ db: SQLiteConnection) throws -> AccountLock? {
        let statement = try db.prepare(
            "SELECT id, account, locked_at, actor, reason FROM locks WHERE account = ?1 AND unlocked_at IS NULL")
        try statement.bind(account, at: 1)
        return try statement.step() ? lock(from: statement) : nil
    }

    /// Reads a lock from a row of `id, account, locked_at, actor, reason`.
    static func lock(from row: SQLiteStatement) -> AccountLock {
        AccountLock(
            account: AccountName(normalized: row.text(at: 1)), lockedAt: UnixTime(milliseconds: row.int64(at: 2)),
            actor: row.text(at: 3), reason: row.text(at: 4), id: row.int64(at: 0))
    }

    private static func insertAudit(_ event: AuditEvent, _ db: SQLiteConnection) throws {
        let statement = try db.prepare(
            "INSERT INTO audit (at, account, action, actor, reason) VALUES (?1, ?2, ?3, ?4, ?5)")
        try statement.bind(event.at.milliseconds, at: 1)
        try statement.bind(event.account, at: 2)
        try statement.bind(event.action.rawValue, at: 3)
        try statement.bind(event.actor, at: 4)
        try statement.bind(event.reason, at: 5)
        try statement.run()
    }

    private static let insertEvidenceSQL = """
        INSERT INTO evidence (lock_id, queue_id, accepted_at, tripped) VALUES (?1, ?2, ?3, ?4)
        ON CONFLICT (lock_id, queue_id) DO UPDATE SET tripped = max(tripped, excluded.tripped)
        """

    private static func bindEvidence(_ evidence: LockEvidence, to statement: SQLiteStatement) throws {
        try statement.bind(evidence.lockID, at: 1)
        try statement.bind(evidence.queueID, at: 2)
        try statement.bind(evidence.acceptedAt.milliseconds, at: 3)
        try statement.bind(evidence.tripped, at: 4)
    }
}
