import Foundation
import Testing
import VigieCore
@testable import VigieStore

/// Root ignores permission bits, so the permission tests only mean something for
/// an ordinary user (run `swift test` as one to exercise them).
private let runningAsRoot = geteuid() == 0

@Suite struct OpenErrorTests {
    @Test func aMissingDirectorySaysSoAndIsNotCreated() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("missing/state.sqlite")

        let error = try #require(throws: SQLiteError.self) { try SQLiteStateStore(path: path) }

        #expect(error.code == .cantOpen)
        #expect(error.description.hasPrefix("cannot open \(path): no such file or directory; does the state directory exist?"))
        #expect(!FileManager.default.fileExists(atPath: directory.file("missing")))
    }

    @Test func aFileWhereTheDirectoryShouldBeSaysSo() throws {
        let directory = try TemporaryDirectory()
        #expect(FileManager.default.createFile(atPath: directory.file("not-a-dir"), contents: Data("x".utf8)))
        let path = directory.file("not-a-dir/state.sqlite")

        let error = try #require(throws: SQLiteError.self) { try SQLiteStateStore(path: path) }

        #expect(error.description.hasPrefix("cannot open \(path): not a directory;"))
    }

    @Test func aFileThatIsNotADatabaseSaysWhatToDo() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("state.sqlite")
        #expect(FileManager.default.createFile(atPath: path, contents: Data(String(repeating: "not sqlite ", count: 100).utf8)))

        let error = try #require(throws: SQLiteError.self) { try SQLiteStateStore(path: path) }

        #expect(error.code == .notADatabase)
        #expect(error.description.contains(path))
        #expect(error.description.contains("move it aside"))
    }

    @Test(.enabled(if: !runningAsRoot, "root ignores permission bits"))
    func anUnwritableDirectoryGivesAClearError() throws {
        let directory = try TemporaryDirectory()
        try FileManager.default.setAttributes([.posixPermissions: 0o555], ofItemAtPath: directory.path)
        let path = directory.file("state.sqlite")

        let error = try #require(throws: SQLiteError.self) { try SQLiteStateStore(path: path) }

        #expect(error.description == "cannot open \(path): permission denied; is the state directory owned by the daemon user?")
    }

    @Test(.enabled(if: !runningAsRoot, "root ignores permission bits"))
    func aReadOnlyFileGivesAClearError() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("state.sqlite")
        _ = try SQLiteStateStore(path: path)
        try FileManager.default.setAttributes([.posixPermissions: 0o444], ofItemAtPath: path)

        let error = try #require(throws: SQLiteError.self) { try SQLiteStateStore(path: path) }

        #expect(error.code == .readOnly)
        #expect(error.description.contains("cannot open \(path) for writing"))
        #expect(error.description.contains("owned by the daemon user"))
    }
}

@Suite struct BusyTests {
    @Test func aWriteBlockedByAnotherProcessSaysWho() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("state.sqlite")
        let store = try SQLiteStateStore(path: path, busyTimeoutMilliseconds: 50)
        // Another process (an sqlite3 shell, say) holding a write transaction.
        let shell = try SQLiteConnection(path: path)
        try shell.execute("BEGIN IMMEDIATE")

        let error = try #require(throws: SQLiteError.self) {
            try store.recordAudit(AuditEvent(at: UnixTime(seconds: 0), account: "alice", action: .reset, actor: "root", reason: "test"))
        }

        #expect(error.code == .busy)
        #expect(error.description.hasPrefix("cannot record the reset of alice in \(path): database is locked by another process;"))
        #expect(error.description.contains("50 ms busy timeout; is a second vigie, or an sqlite3 shell, using the same state file?"))
        try shell.execute("ROLLBACK")
        try store.recordAudit(AuditEvent(at: UnixTime(seconds: 0), account: "alice", action: .reset, actor: "root", reason: "test"))
    }
}

/// A start refused on a damaged file must leave every file as it was: the error
/// tells the admin to keep it, and the `-wal` next to it may hold the latest locks.
@Suite struct RefusedOpenTests {
    /// A state file with a lock committed only to its log, then a damaged header in
    /// the main file (the log does not hold page 1, so SQLite must read the damage).
    private func damagedStateWithALog(in directory: TemporaryDirectory) throws -> String {
        let live = directory.file("live.sqlite")
        let damaged = directory.file("state.sqlite")
        let store = try SQLiteStateStore(path: live)
        let db = try SQLiteConnection(path: live)
        _ = try db.scalarText("PRAGMA wal_checkpoint(TRUNCATE)")
        _ = try store.recordLock(
            AccountLock(account: AccountName(normalized: "alice"), lockedAt: UnixTime(seconds: 1), actor: "vigie", reason: "burst"),
            evidence: [])
        withExtendedLifetime((store, db)) {
            // What a crash leaves: both files as they are on disk now.
            try? FileManager.default.copyItem(atPath: live, toPath: damaged)
            try? FileManager.default.copyItem(atPath: live + "-wal", toPath: damaged + "-wal")
        }
        let handle = try #require(FileHandle(forUpdatingAtPath: damaged))
        try handle.write(contentsOf: Data("this is not SQLite at all".utf8))
        try handle.close()
        return damaged
    }

    @Test func aRefusedStartLeavesTheDamagedFileAndItsLogUntouched() throws {
        let directory = try TemporaryDirectory()
        let path = try damagedStateWithALog(in: directory)
        let before = try [path, path + "-wal"].map { try Data(contentsOf: URL(fileURLWithPath: $0)) }
        #expect(before[1].count > 0)

        let error = try #require(throws: SQLiteError.self) { try SQLiteStateStore(path: path) }

        #expect(error.code == .notADatabase)
        #expect(error.description.contains("keep it"))
        for (index, file) in [path, path + "-wal"].enumerated() {
            #expect(FileManager.default.fileExists(atPath: file), "\(file) was deleted")
            #expect((try? Data(contentsOf: URL(fileURLWithPath: file))) == before[index], "\(file) was changed")
        }
    }

    @Test("a damaged page that no start-up query reads is found by the check at start, with what to do")
    func damageAnywhereRefusesTheDaemonsOpen() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("state.sqlite")
        do {
            let store = try SQLiteStateStore(path: path)
            for day in 0..<200 {
                try store.recordAudit(AuditEvent(at: UnixTime(seconds: 1_764_000_000 + Int64(day) * 86_400), account: "camille",
                                                 action: .reset, actor: "admin", reason: "reset number \(day)"))
            }
            try store.checkpoint()
        }
        let auditRoot = try #require(try SQLiteConnection(path: path, mode: .readOnly)
            .scalarInt64("SELECT rootpage FROM sqlite_master WHERE name = 'audit'"))
        let pageSize = 4096
        let handle = try #require(FileHandle(forUpdatingAtPath: path))
        try handle.seek(toOffset: UInt64((Int(auditRoot) - 1) * pageSize))
        try handle.write(contentsOf: Data(repeating: 0xFF, count: 200))
        try handle.close()

        // What the daemon did before: the locks and counters it reads at start are
        // intact, so the damage would have surfaced later, on a write.
        #expect(try SQLiteStateStore(path: path).activeLocks().isEmpty)
        let error = try #require(throws: SQLiteError.self) {
            try SQLiteStateStore(path: path, busyTimeoutMilliseconds: 100, verifyIntegrity: true)
        }
        #expect(error.code == .corrupt)
        #expect(error.description.hasPrefix("cannot use \(path): the file fails SQLite's integrity check ("), "\(error)")
        #expect(error.description.contains("move it aside (keep it: it holds the audit trail)"), "\(error)")
    }

    @Test func anIntactFilePassesTheCheckAtStart() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("state.sqlite")
        _ = try SQLiteStateStore(path: path)
        #expect(try SQLiteStateStore(path: path, busyTimeoutMilliseconds: 100, verifyIntegrity: true).activeLocks().isEmpty)
    }
}
