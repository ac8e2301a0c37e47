/// The state file's tables, and the migrations that build them.
///
/// The schema version lives in `PRAGMA user_version` (a field of the file header,
/// written in the same transaction as the migration). `migrations[n]` takes a file
/// from version n to n + 1. Never edit a migration that has shipped: append one.
enum SQLiteSchema {
    static let migrations: [String] = [
        // 0 -> 1: the first schema.
        """
        -- Times are milliseconds since the Unix epoch (UnixTime.milliseconds).
        -- STRICT: a value of the wrong type is an error, not silently stored.

        -- Every lock ever taken; the ones in force have unlocked_at NULL.
        CREATE TABLE locks (
            id INTEGER PRIMARY KEY,
            account TEXT NOT NULL,
            locked_at INTEGER NOT NULL,
            actor TEXT NOT NULL,
            reason TEXT NOT NULL,
            unlocked_at INTEGER,
            unlocked_by TEXT,
            unlock_reason TEXT
        ) STRICT;
        -- At most one lock in force per account, enforced by SQLite itself so that
        -- two processes (daemon and vigiectl) cannot both lock the same account.
        CREATE UNIQUE INDEX locks_in_force ON locks(account) WHERE unlocked_at IS NULL;
        CREATE INDEX locks_by_account ON locks(account, locked_at);

        -- Append-only trail of lock, unlock, reset, hold, release and purge.
        CREATE TABLE audit (
            id INTEGER PRIMARY KEY,
            at INTEGER NOT NULL,
            account TEXT NOT NULL,
            action TEXT NOT NULL,
            actor TEXT NOT NULL,
            reason TEXT NOT NULL
        ) STRICT;
        CREATE INDEX audit_by_account ON audit(account, id);

        -- Postfix queue ids of the messages behind a lock.
        CREATE TABLE evidence (
            lock_id INTEGER NOT NULL REFERENCES locks(id),
            queue_id TEXT NOT NULL,
            accepted_at INTEGER NOT NULL,
            tripped INTEGER NOT NULL CHECK (tripped IN (0, 1)),
            UNIQUE (lock_id, queue_id)
        ) STRICT;

        -- The policy's counters, one versioned binary snapshot per account
        -- (AccountCounters+Snapshot.swift). updated_at is for a person reading the
        -- file; the policy never reads it. WITHOUT ROWID: the account is the key, so
        -- a separate rowid b-tree would double the work of a 100k-row flush.
        CREATE TABLE counters (
            account TEXT PRIMARY KEY NOT NULL,
            snapshot BLOB NOT NULL,
            updated_at INTEGER NOT NULL
        ) STRICT, WITHOUT ROWID;
        """,
        // 1 -> 2: sending histories for detection (issue 10).
        """
        -- What detection learnt of each account (known networks, recipient sketches,
        -- habits) and its suspicion score: one versioned binary snapshot per account
        -- (SendingHistory+Snapshot.swift), flushed with the counters. Kept after the
        -- counters of an idle account are gone, up to detection.history_retention.
        CREATE TABLE histories (
            account TEXT PRIMARY KEY NOT NULL,
            snapshot BLOB NOT NULL,
            updated_at INTEGER NOT NULL
        ) STRICT, WITHOUT ROWID;
        """,
    ]

    static var currentVersion: Int64 { Int64(migrations.count) }

    /// Brings the file up to `currentVersion`, all pending migrations in one
    /// transaction: a crash half-way leaves the previous version, never a mix.
    /// Refuses a file written by a newer Vigie rather than guessing at its tables.
    static func migrate(_ connection: SQLiteConnection) throws {
        try connection.writeTransaction {
            // Read inside the write transaction, so two processes opening a new file
            // at once cannot both run migration 0.
            let found = try connection.scalarInt64("PRAGMA user_version") ?? 0
            guard found <= currentVersion else {
                throw SQLiteError(
                    code: .error,
                    message: "the file has schema version \(found), newer than the \(currentVersion) this Vigie knows",
                    context: "cannot use \(connection.path)",
                    remedy: "run the newer Vigie that wrote it, or restore a backup made before the upgrade")
            }
            for version in Int(found)..<Int(currentVersion) {
                try connection.execute(migrations[version])
            }
            if found < currentVersion {
                // PRAGMA takes no bound parameters; the value is our own integer.
                try connection.execute("PRAGMA user_version = \(currentVersion)")
            }
        }
    }
}
