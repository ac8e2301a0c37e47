internal import CSQLite

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A failure of the SQLite state store, worded for the admin who reads it in the log:
/// what Vigie was doing, what SQLite said, and, when we know, what to do about it.
///
///     cannot open /var/lib/vigie/state.sqlite: permission denied; is the state
///     directory owned by the daemon user?
public struct SQLiteError: Error, Sendable, Equatable, CustomStringConvertible {
    /// SQLite's primary result code. A struct rather than an enum so that codes can be
    /// added without breaking callers that switch over them.
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public let rawValue: Int32
        public init(rawValue: Int32) { self.rawValue = rawValue }

        public static let error = Code(rawValue: 1)          // SQLITE_ERROR
        public static let permission = Code(rawValue: 3)     // SQLITE_PERM
        public static let busy = Code(rawValue: 5)           // SQLITE_BUSY
        public static let locked = Code(rawValue: 6)         // SQLITE_LOCKED
        public static let noMemory = Code(rawValue: 7)       // SQLITE_NOMEM
        public static let readOnly = Code(rawValue: 8)       // SQLITE_READONLY
        public static let ioError = Code(rawValue: 10)       // SQLITE_IOERR
        public static let corrupt = Code(rawValue: 11)       // SQLITE_CORRUPT
        public static let full = Code(rawValue: 13)          // SQLITE_FULL
        public static let cantOpen = Code(rawValue: 14)      // SQLITE_CANTOPEN
        public static let schema = Code(rawValue: 17)        // SQLITE_SCHEMA
        public static let constraint = Code(rawValue: 19)    // SQLITE_CONSTRAINT
        public static let mismatch = Code(rawValue: 20)      // SQLITE_MISMATCH
        public static let misuse = Code(rawValue: 21)        // SQLITE_MISUSE
        public static let notADatabase = Code(rawValue: 26)  // SQLITE_NOTADB

        /// SQLite's English name for the code ("database is locked").
        public var description: String { String(cString: sqlite3_errstr(rawValue)) }
    }

    /// The primary result code (the low byte of `extendedCode`).
    public var code: Code
    /// SQLite's extended result code (for example 2067, `SQLITE_CONSTRAINT_UNIQUE`),
    /// kept for bug reports.
    public var extendedCode: Int32
    /// What went wrong: SQLite's message, or the operating system's when a file could
    /// not be opened.
    public var message: String
    /// What Vigie was doing: "cannot record the lock of alice in /var/lib/vigie/state.sqlite".
    public var context: String
    /// What the admin can do about it, when that is known.
    public var remedy: String?
    /// The statement that failed, if any: for bug reports, not shown in `description`.
    public var sql: String?

    public init(code: Code, extendedCode: Int32? = nil, message: String, context: String, remedy: String? = nil, sql: String? = nil) {
        self.code = code
        self.extendedCode = extendedCode ?? code.rawValue
        self.message = message
        self.context = context
        self.remedy = remedy
        self.sql = sql
    }

    public var description: String {
        var text = "\(context): \(message)"
        if let remedy { text += "; \(remedy)" }
        return text
    }
}

extension SQLiteError {
    /// The advice that goes with a result code, when the code alone tells us enough.
    static func remedy(for code: Code, busyTimeoutMilliseconds: Int32 = SQLiteConnection.defaultBusyTimeoutMilliseconds) -> String? {
        switch code {
        case .busy, .locked:
            "another process held a write transaction for longer than the \(busyTimeoutMilliseconds) ms busy timeout; is a second vigie, or an sqlite3 shell, using the same state file?"
        case .readOnly, .permission:
            "the file or its directory is not writable; is the state directory owned by the daemon user?"
        case .full:
            "the file system holding the state directory is full; free some space"
        case .ioError:
            "the disk reported an I/O error; check the kernel log"
        case .corrupt, .notADatabase:
            "the file is damaged or is not a Vigie state file; move it aside (keep it: it holds the audit trail) and restart to begin with an empty state"
        case .noMemory:
            "the daemon ran out of memory"
        default:
            nil
        }
    }

    /// An error for a file that could not be opened, from the `errno` SQLite saw:
    /// SQLite's own message here is only "unable to open database file".
    static func cannotOpen(path: String, code: Int32, extendedCode: Int32, sqliteMessage: String, systemErrno: Int32) -> SQLiteError {
        let context = "cannot open \(path)"
        let remedy: String?
        switch systemErrno {
        case EACCES, EPERM:
            remedy = "is the state directory owned by the daemon user?"
        case ENOENT:
            remedy = "does the state directory exist? Create it, owned by the daemon user, or fix the state path in the configuration"
        case ENOTDIR:
            remedy = "a component of the path is a file, not a directory; fix the state path in the configuration"
        case EROFS:
            remedy = "the file system is mounted read-only; the state directory must be writable"
        default:
            remedy = SQLiteError.remedy(for: Code(rawValue: code & 0xFF))
        }
        let message = systemErrno != 0 ? systemErrorText(systemErrno) : sqliteMessage
        return SQLiteError(code: Code(rawValue: code & 0xFF), extendedCode: extendedCode, message: message, context: context, remedy: remedy)
    }

    /// `strerror` with its first letter lowered, to read well after a colon.
    static func systemErrorText(_ number: Int32) -> String {
        guard let text = strerror(number) else { return "error \(number)" }
        let message = String(cString: text)
        return message.prefix(1).lowercased() + message.dropFirst()
    }
}
