#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Keeps the state file, its write-ahead log and its shared-memory index readable by
/// their owner only (mode 0600).
///
/// Why: the file holds account names and the reasons and actors of every lock, and
/// the `-wal` holds the same rows until a checkpoint. SQLite creates the database
/// with 0644 less the umask, and the `-wal` and `-shm` with the database's own mode,
/// so making the database 0600 *before* SQLite first creates it is what keeps the
/// other two private as well. A umask set around the open would not do: it is
/// process-wide, and libmilter's and the control server's threads create sockets
/// and files of their own.
///
/// Files left world-readable by an older Vigie are narrowed at open (group and
/// other bits removed, owner bits kept), and checked again once the log exists.
enum OwnerOnlyFiles {
    /// The files SQLite keeps for a WAL database at `path`.
    static func all(_ path: String) -> [String] { [path, path + "-wal", path + "-shm"] }

    /// Creates the database file empty with mode 0600 if it does not exist yet (an
    /// empty file is a valid, empty SQLite database). Failures are left for
    /// `sqlite3_open_v2` to report: it words them for the admin already
    /// (`SQLiteConnection.whyCannotOpen`), and a missing directory must stay missing.
    static func createIfMissing(_ path: String) {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        if descriptor >= 0 { close(descriptor) }
    }

    /// Removes group and other permission bits from whichever of the three files
    /// exist. Returns the files it could not narrow, with the errno.
    @discardableResult
    static func restrict(_ path: String) -> [(file: String, errno: Int32)] {
        var failures: [(String, Int32)] = []
        for file in all(path) {
            var info = stat()
            // lstat: never follow a link someone put in place of a state file.
            guard lstat(file, &info) == 0, info.st_mode & S_IFMT == S_IFREG else { continue }
            let permissions = info.st_mode & 0o7777
            guard permissions & 0o077 != 0 else { continue }
            if chmod(file, permissions & 0o700) != 0 { failures.append((file, errno)) }
        }
        return failures
    }
}
