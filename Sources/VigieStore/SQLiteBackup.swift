internal import CSQLite
import Foundation

/// A consistent copy of the state file while the daemon writes to it, for
/// `vigiectl backup FILE`.
///
/// Why not `cp`: in WAL mode the latest commits live in `state.sqlite-wal` until a
/// checkpoint, so a copy of the main file alone misses them, and copying the two
/// files one after the other races the daemon's next commit. SQLite's online backup
/// reads one snapshot (a read transaction, which in WAL mode never blocks the
/// daemon's writes) and writes it as a single self-contained file.
///
/// Security: the copy holds what the state holds (account names, lock reasons); it
/// is created with mode 0600, written under a temporary name next to `destination`
/// and renamed over it only once complete and checked, so a failed backup never
/// leaves a half-written file under the final name nor destroys the previous one.
///
/// Known limitations: the source is opened read-only, which in WAL mode still needs
/// write access to `state.sqlite-shm` (SQLite's shared index): run it as root or as
/// the daemon user. Counters changed since the daemon's last flush (at most
/// `daemon.flush_interval`) are not in the copy; locks are, as they are written
/// before the reply that depends on them.
public enum SQLiteBackup {
    /// What a finished backup holds.
    public struct Summary: Sendable, Equatable {
        public var bytes: Int
        public var locksInForce: Int
        public var accountsWithCounters: Int
    }

    /// Copies the database at `source` to `destination` (replacing it if it exists).
    ///
    /// The corresponding C functions are `sqlite3_backup_init`, `sqlite3_backup_step`
    /// and `sqlite3_backup_finish`.
    public static func copy(from source: String, to destination: String) throws -> Summary {
        guard FileManager.default.fileExists(atPath: source) else {
            throw SQLiteError(code: .cantOpen, message: "no such file", context: "cannot back up \(source)",
                              remedy: "is daemon.state_path right in the configuration (or --state)?")
        }
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: destination, isDirectory: &isDirectory), isDirectory.boolValue {
            throw SQLiteError(code: .cantOpen, message: "is a directory", context: "cannot write the backup to \(destination)",
                              remedy: "give a file name, e.g. \(destination)/state-$(date +%F).sqlite")
        }
        let partial = destination + ".partial"
        // A leftover from an interrupted backup would otherwise be opened as the copy.
        for file in OwnerOnlyFiles.all(partial) { unlink(file) }
        defer { for file in OwnerOnlyFiles.all(partial) { unlink(file) } }

        let summary: Summary
        do {
            let from = try SQLiteConnection(path: source, mode: .readOnly)
            let to = try SQLiteConnection(path: partial, mode: .plain)
            try BackupOperation(from: from, to: to).run()
            // The copy carries the source's WAL flag; one self-contained file is what a
            // backup should be, and the daemon turns WAL on again when it opens it.
            _ = try to.scalarText("PRAGMA journal_mode = DELETE")
            let check = try to.scalarText("PRAGMA quick_check")
            guard check == "ok" else {
                throw SQLiteError(code: .corrupt, message: "the copy fails SQLite's quick_check: \(check ?? "no answer")",
                                  context: "cannot back up \(source)",
                                  remedy: "the state file itself may be damaged; run sqlite3 \(source) 'PRAGMA integrity_check'")
            }
            summary = Summary(
                bytes: Int(try to.scalarInt64("SELECT page_count * page_size FROM pragma_page_count, pragma_page_size") ?? 0),
                locksInForce: Int(try to.scalarInt64("SELECT count(*) FROM locks WHERE unlocked_at IS NULL") ?? 0),
                accountsWithCounters: Int(try to.scalarInt64("SELECT count(*) FROM counters") ?? 0))
        } catch var error as SQLiteError {
            if !error.context.hasPrefix("cannot back up") { error.context = "cannot back up \(source) to \(destination)" }
            throw error
        }
        guard rename(partial, destination) == 0 else {
            let number = errno
            throw SQLiteError(code: .cantOpen, message: SQLiteError.systemErrorText(number),
                              context: "cannot put the backup in place as \(destination)",
                              remedy: "is its directory writable by this user?")
        }
        return summary
    }
}

/// One `sqlite3_backup` object, finished in `deinit`.
private final class BackupOperation {
    /// Kept so both connections outlive the backup object that points at them.
    private let source: SQLiteConnection
    private let destination: SQLiteConnection
    private let handle: OpaquePointer

    init(from source: SQLiteConnection, to destination: SQLiteConnection) throws {
        guard let handle = sqlite3_backup_init(destination.rawHandle, "main", source.rawHandle, "main") else {
            // The error is on the destination connection.
            throw destination.error(sqlite3_errcode(destination.rawHandle))
        }
        self.source = source
        self.destination = destination
        self.handle = handle
    }

    /// Copies every page in one step (one read snapshot of the source), waiting out a
    /// writer that holds the file for a moment (a checkpoint), up to the busy timeout.
    func run() throws {
        let deadline = ContinuousClock.now + .milliseconds(Int(source.busyTimeoutMilliseconds))
        while true {
            let status = sqlite3_backup_step(handle, -1)
            if status == SQLITE_DONE { return }
            if status == SQLITE_BUSY || status == SQLITE_LOCKED, ContinuousClock.now < deadline {
                usleep(20_000)
            } else {
                throw SQLiteError(
                    code: SQLiteError.Code(rawValue: status & 0xFF), extendedCode: status,
                    message: String(cString: sqlite3_errstr(status)), context: "cannot copy the pages",
                    remedy: SQLiteError.remedy(for: SQLiteError.Code(rawValue: status & 0xFF)))
            }
        }
    }

    deinit { sqlite3_backup_finish(handle) }
}
