internal import CSQLite

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// One open SQLite database. Owns the `sqlite3 *` handle and closes it in `deinit`.
///
/// Not `Sendable`: a connection is used by one thread at a time. `SQLiteStateStore`
/// keeps its only connection behind a `Mutex`.
final class SQLiteConnection {
    /// What the connection is for.
    enum Mode {
        /// The daemon's state: read-write, created if missing, WAL, synchronous=FULL.
        case stateStore
        /// Reading another process's live file (a backup's source): nothing is created
        /// or configured, and closing never checkpoints.
        case readOnly
        /// A plain file of our own (a backup's destination): created 0600, SQLite's defaults.
        case plain
    }

    /// How long a write waits for another process's write transaction to end.
    /// `vigiectl` and the daemon may share the file; five seconds covers a flush of
    /// 100k counters, and a lock taken longer than that is worth an error in the log.
    static let defaultBusyTimeoutMilliseconds: Int32 = 5000

    let path: String
    let busyTimeoutMilliseconds: Int32
    private let handle: OpaquePointer

    /// Opens (creating if missing) the database at `path` and configures it for the
    /// state store. The directory must already exist: creating it here would leave
    /// it owned by whoever ran the daemon first, which is the failure this error is
    /// meant to prevent.
    ///
    /// The corresponding C function is `sqlite3_open_v2`.
    init(path: String, busyTimeoutMilliseconds: Int32 = defaultBusyTimeoutMilliseconds, mode: Mode = .stateStore) throws {
        self.path = path
        self.busyTimeoutMilliseconds = busyTimeoutMilliseconds
        var opened: OpaquePointer?
        // NOMUTEX: SQLiteStateStore's Mutex already serialises every use of the
        // connection, so SQLite's own per-call mutex would be a second lock for nothing.
        let flags = mode == .readOnly ? SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX
            : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX
        if mode != .readOnly {
            // Owner-only before SQLite first creates any of the files (OwnerOnlyFiles).
            OwnerOnlyFiles.createIfMissing(path)
            OwnerOnlyFiles.restrict(path)
        }
        let status = sqlite3_open_v2(path, &opened, flags, nil)
        guard status == SQLITE_OK, let opened else {
            // A handle is usually returned even on failure and must still be closed.
            let error = SQLiteError.cannotOpen(
                path: path, code: status,
                extendedCode: opened.map { sqlite3_extended_errcode($0) } ?? status,
                sqliteMessage: opened.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(status)),
                systemErrno: Self.whyCannotOpen(path) ?? opened.map { sqlite3_system_errno($0) } ?? 0)
            sqlite3_close_v2(opened)
            throw error
        }
        handle = opened
        // Until the store has read and migrated the file, closing must not touch it.
        // SQLite's last connection to close checkpoints the WAL into the database and
        // deletes the log, even when the open failed on a damaged file: a refused start
        // would then write over the damaged file and delete the frames the error tells
        // the admin to keep. `allowCheckpointOnClose()` turns this off once the file is
        // known good.
        vigie_sqlite3_no_checkpoint_on_close(handle, 1)
        guard mode == .stateStore else {
            sqlite3_busy_timeout(handle, busyTimeoutMilliseconds)
            return
        }

        // READWRITE silently falls back to read-only when the file is not writable;
        // for a store that must record locks that is an error, not a mode.
        if sqlite3_db_readonly(handle, "main") == 1 {
            throw SQLiteError(
                code: .readOnly, message: "the file is not writable by this user",
                context: "cannot open \(path) for writing",
                remedy: "is the state file owned by the daemon user?")
        }
        try configure()
        try restrictFileModes()
    }

    /// Checks that the database, its `-wal` and its `-shm` are owner-only, narrowing
    /// them if not. SQLite creates the log and the index lazily (at the first read or
    /// write in WAL mode), so the store calls this again once it has used the file.
    func restrictFileModes() throws {
        if let failure = OwnerOnlyFiles.restrict(path).first {
            throw SQLiteError(
                code: .permission, extendedCode: SQLiteError.Code.permission.rawValue,
                message: "cannot make \(failure.file) readable by its owner only: \(SQLiteError.systemErrorText(failure.errno))",
                context: "cannot open \(path)",
                remedy: "the state files hold account names; chmod 600 them, owned by the daemon user")
        }
    }

    /// The errno that explains why `path` cannot be opened for writing, found by
    /// asking the file system directly. SQLite's own `sqlite3_system_errno` is not
    /// enough: when creating the file fails with EACCES, SQLite retries read-only,
    /// and the errno left behind is that retry's ENOENT ("no such file"), which
    /// would send the admin looking for a directory that exists.
    private static func whyCannotOpen(_ path: String) -> Int32? {
        // AT_EACCESS: check as the effective user, the one SQLite opens files as.
        if faccessat(AT_FDCWD, path, F_OK, AT_EACCESS) == 0 {
            return faccessat(AT_FDCWD, path, R_OK | W_OK, AT_EACCESS) == 0 ? nil : errno
        }
        let directory = path.lastIndex(of: "/").map { $0 == path.startIndex ? "/" : String(path[..<$0]) } ?? "."
        var info = stat()
        if stat(directory, &info) != 0 { return errno }
        if info.st_mode & S_IFMT != S_IFDIR { return ENOTDIR }
        // Creating a file needs write and search permission on its directory.
        return faccessat(AT_FDCWD, directory, W_OK | X_OK, AT_EACCESS) == 0 ? nil : errno
    }

    /// A good file is checkpointed into the database and its log removed when the
    /// connection closes, as SQLite does by default.
    ///
    /// The corresponding C function is `sqlite3_db_config(SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE)`.
    func allowCheckpointOnClose() {
        vigie_sqlite3_no_checkpoint_on_close(handle, 0)
    }

    deinit {
        // close_v2 rather than close: it cannot fail with SQLITE_BUSY, and statements
        // hold a reference to their connection, so none are left by the time we get here.
        sqlite3_close_v2(handle)
    }

    private func configure() throws {
        // Wait for another process's write rather than failing at once with
        // SQLITE_BUSY (vigiectl may be writing while the daemon flushes counters).
        sqlite3_busy_timeout(handle, busyTimeoutMilliseconds)

        // WAL: readers (vigiectl status) never block the daemon's writes, and a commit
        // is one append and one fsync of the log instead of rewriting pages in place.
        // The mode is stored in the file; asking again is cheap and checks it stuck.
        let journalMode = try scalarText("PRAGMA journal_mode = WAL")
        guard journalMode?.lowercased() == "wal" else {
            throw SQLiteError(
                code: .error, message: "SQLite kept journal mode \(journalMode ?? "unknown") instead of WAL",
                context: "cannot configure \(path)",
                remedy: "put the state directory on a local file system (WAL needs shared memory, which network file systems lack)")
        }

        // FULL: in WAL mode NORMAL may lose the last commits on power loss. A lock
        // must survive that; the cost is one fsync per commit, and counters are
        // flushed in one transaction once a second, so it stays bounded.
        try execute("PRAGMA synchronous = FULL")

        // Foreign keys are off by default in SQLite, per connection: evidence must
        // never point at a lock that does not exist.
        try execute("PRAGMA foreign_keys = ON")
    }

    // MARK: Running SQL

    /// Runs one or more statements that return no rows (DDL, pragmas, BEGIN/COMMIT).
    ///
    /// The corresponding C function is `sqlite3_exec`.
    func execute(_ sql: String) throws {
        let status = sqlite3_exec(handle, sql, nil, nil, nil)
        guard status == SQLITE_OK else { throw error(status, sql: sql) }
    }

    /// Compiles one statement. The corresponding C function is `sqlite3_prepare_v2`.
    func prepare(_ sql: String) throws -> SQLiteStatement {
        try SQLiteStatement(connection: self, sql: sql)
    }

    /// The first column of the first row, as an integer (nil when there is no row).
    func scalarInt64(_ sql: String) throws -> Int64? {
        let statement = try prepare(sql)
        return try statement.step() ? statement.int64(at: 0) : nil
    }

    /// The first column of the first row, as text (nil when there is no row or it is NULL).
    func scalarText(_ sql: String) throws -> String? {
        let statement = try prepare(sql)
        return try statement.step() ? statement.optionalText(at: 0) : nil
    }

    /// The first column of every row `sql` returns, as text (NULL as "").
    func textColumn(_ sql: String) throws -> [String] {
        let statement = try prepare(sql)
        var rows: [String] = []
        while try statement.step() { rows.append(statement.optionalText(at: 0) ?? "") }
        return rows
    }

    /// Runs `body` inside one write transaction, committing if it returns and
    /// rolling back if it throws.
    ///
    /// IMMEDIATE takes the write lock at BEGIN, where the busy timeout applies. A
    /// deferred transaction that reads first and then writes can instead fail at once
    /// with SQLITE_BUSY when another process committed in between (WAL cannot upgrade
    /// a stale read snapshot), and no amount of waiting fixes that.
    func writeTransaction<Result>(_ body: () throws -> Result) throws -> Result {
        try execute("BEGIN IMMEDIATE")
        do {
            let result = try body()
            try execute("COMMIT")
            return result
        } catch {
            // Some errors (SQLITE_FULL, SQLITE_IOERR) already rolled back; ROLLBACK
            // would then fail and hide the real error.
            if sqlite3_get_autocommit(handle) == 0 {
                _ = sqlite3_exec(handle, "ROLLBACK", nil, nil, nil)
            }
            throw error
        }
    }

    /// The rowid of the last row inserted. The corresponding C function is `sqlite3_last_insert_rowid`.
    var lastInsertRowID: Int64 { sqlite3_last_insert_rowid(handle) }

    /// Rows changed by the last statement. The corresponding C function is `sqlite3_changes`.
    var changes: Int { Int(sqlite3_changes(handle)) }

    // MARK: Errors

    /// The error SQLite reports for `status`, with its message and advice. Must be
    /// called right after the failing call, before anything else touches the handle.
    func error(_ status: Int32, sql: String? = nil) -> SQLiteError {
        let code = SQLiteError.Code(rawValue: status & 0xFF)
        let message: String
        if code == .busy {
            // SQLite's "database is locked" does not say by whom.
            message = "database is locked by another process"
        } else {
            message = String(cString: sqlite3_errmsg(handle))
        }
        return SQLiteError(
            code: code, extendedCode: sqlite3_extended_errcode(handle), message: message,
            context: "cannot use \(path)", remedy: SQLiteError.remedy(for: code, busyTimeoutMilliseconds: busyTimeoutMilliseconds), sql: sql)
    }

    /// Used by SQLiteStatement, which needs the raw handle to prepare itself.
    var rawHandle: OpaquePointer { handle }
}
