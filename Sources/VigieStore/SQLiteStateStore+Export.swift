import VigieCore

/// The SQLite store as the source of a copy (`vigiectl store migrate --to redis`):
/// opened read-only, read in one snapshot, listed whole.
extension SQLiteStateStore: ExportableStateStore {
    /// Opens an existing state file read-only: nothing is created, migrated or
    /// narrowed, and closing never checkpoints. The file must be at this Vigie's
    /// schema, since a read-only connection cannot migrate it.
    ///
    /// As for `vigiectl backup`, WAL mode still needs write access to the `-shm`
    /// index: run as root or as the daemon user.
    public convenience init(readingOnly path: String) throws {
        let connection = try SQLiteConnection(path: path, mode: .readOnly)
        let version: Int64
        do {
            version = try connection.scalarInt64("PRAGMA user_version") ?? 0
        } catch var error as SQLiteError {
            error.context = "cannot read \(path)"
            throw error
        }
        guard version == SQLiteSchema.currentVersion else {
            throw SQLiteError(
                code: .error,
                message: "the file has schema version \(version), this Vigie reads version \(SQLiteSchema.currentVersion)",
                context: "cannot read \(path)",
                remedy: version < SQLiteSchema.currentVersion
                    ? "start this Vigie once on it (backend \"sqlite\") so that it migrates the file, stop it, then try again"
                    : "run the newer Vigie that wrote it")
        }
        self.init(path: path, connection: connection)
    }

    public func accountsWithRecords() throws -> [AccountName] {
        try withConnection("cannot list the accounts with locks or audit lines") { db in
            let statement = try db.prepare("SELECT account FROM audit UNION SELECT account FROM locks ORDER BY account")
            var accounts: [AccountName] = []
            while try statement.step() { accounts.append(AccountName(normalized: statement.text(at: 0))) }
            return accounts
        }
    }

    public func allLocks(account: AccountName) throws -> [AccountLock] {
        try withConnection("cannot read the locks of \(account)") { db in
            let statement = try db.prepare(
                "SELECT id, account, locked_at, actor, reason FROM locks WHERE account = ?1 ORDER BY id")
            try statement.bind(account.value, at: 1)
            var locks: [AccountLock] = []
            while try statement.step() { locks.append(Self.lock(from: statement)) }
            return locks
        }
    }

    /// Runs `body` inside one read transaction, so every call it makes sees the same
    /// snapshot of the file (WAL: the daemon's writes meanwhile neither block nor show).
    public func readingOneSnapshot<Result>(_ body: () throws -> Result) throws -> Result {
        try withConnection("cannot start a read transaction") { db in try db.execute("BEGIN") }
        defer { try? withConnection("cannot end the read transaction") { db in try db.execute("COMMIT") } }
        return try body()
    }
}
