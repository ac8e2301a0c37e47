import Foundation
import Testing
import VigieCore
import VigieStore

/// What survives a `kill -9` of the daemon.
///
/// A real child process is awkward under `swift test` (the test binary cannot easily
/// re-exec itself into one test, and `fork()` in a multithreaded process is unsafe),
/// so this tier stands in for the kill: it writes through a store that stays open,
/// then copies the database file and its write-ahead log as they are on disk at that
/// instant, without closing or checkpointing anything. That is exactly what a process
/// killed at that point leaves behind: the OS keeps every write() the process made, a
/// kill runs no code in the process, and the WAL is the only record of commits not yet
/// checkpointed into the main file. The `-shm` file is not copied: it is a derived
/// index that SQLite rebuilds from the WAL when it is missing. (Power loss is the
/// harder case, covered by synchronous=FULL; the end-to-end tests kill -9 the real
/// daemon separately.)
@Suite struct CrashRecoveryTests {
    @Test func aLockWrittenBeforeAKillIsThereAfterRestart() throws {
        let directory = try TemporaryDirectory()
        let live = directory.file("state.sqlite")
        let crashed = directory.file("after-kill.sqlite")
        let alice = AccountName(normalized: "alice")

        let store = try SQLiteStateStore(path: live)
        let lock = try store.recordLock(
            AccountLock(account: alice, lockedAt: UnixTime(seconds: 1_750_000_000), actor: "vigie", reason: "burst"),
            evidence: [("4Q1", UnixTime(seconds: 1_749_999_999))])
        var counters = AccountCounters()
        counters.burstMessages = SlidingWindowCount(windowStart: 1_750_000_000_000, previous: 0, current: 12)
        try store.saveCounters([(alice, counters)])

        try withExtendedLifetime(store) {
            // The commits live in the WAL only: otherwise this test would not be
            // exercising recovery at all.
            let walSize = try FileManager.default.attributesOfItem(atPath: live + "-wal")[.size] as? Int ?? 0
            #expect(walSize > 0)
            try FileManager.default.copyItem(atPath: live, toPath: crashed)
            try FileManager.default.copyItem(atPath: live + "-wal", toPath: crashed + "-wal")
        }

        let restarted = try SQLiteStateStore(path: crashed)
        #expect(try restarted.activeLocks() == [lock])
        #expect(try restarted.auditTrail(account: alice).map(\.action) == [.lock])
        #expect(try restarted.evidence(account: alice).map(\.queueID) == ["4Q1"])
        #expect(try restarted.loadCounters().first?.1 == counters)
    }

    @Test func withoutItsLogTheMainFileAloneHasNoLock() throws {
        // The control for the test above: the lock really is only in the WAL, so
        // the copy above finds it because SQLite replays the log on open.
        let directory = try TemporaryDirectory()
        let live = directory.file("state.sqlite")
        let mainOnly = directory.file("main-only.sqlite")

        let store = try SQLiteStateStore(path: live)
        _ = try store.recordLock(
            AccountLock(account: AccountName(normalized: "alice"), lockedAt: UnixTime(seconds: 1), actor: "vigie", reason: "burst"),
            evidence: [])
        try withExtendedLifetime(store) {
            try FileManager.default.copyItem(atPath: live, toPath: mainOnly)
        }

        #expect(try SQLiteStateStore(path: mainOnly).activeLocks().isEmpty)
    }
}

/// What a clean stop and a backup leave: the state in a file that stands on its own.
@Suite struct CheckpointAndBackupTests {
    private let alice = AccountName(normalized: "alice")

    private func storeWithALockInItsLog(_ path: String) throws -> (SQLiteStateStore, AccountLock) {
        let store = try SQLiteStateStore(path: path)
        let lock = try store.recordLock(
            AccountLock(account: alice, lockedAt: UnixTime(seconds: 1_750_000_000), actor: "vigie", reason: "burst"),
            evidence: [("4Q1", UnixTime(seconds: 1_749_999_999))])
        var counters = AccountCounters()
        counters.burstMessages = SlidingWindowCount(windowStart: 1_750_000_000_000, previous: 0, current: 12)
        try store.saveCounters([(alice, counters)])
        return (store, lock)
    }

    @Test func afterACheckpointTheMainFileAloneHoldsEverything() throws {
        let directory = try TemporaryDirectory()
        let live = directory.file("state.sqlite")
        let mainOnly = directory.file("main-only.sqlite")
        let (store, lock) = try storeWithALockInItsLog(live)

        try store.checkpoint()

        let walSize = try FileManager.default.attributesOfItem(atPath: live + "-wal")[.size] as? Int ?? -1
        #expect(walSize == 0)
        try FileManager.default.copyItem(atPath: live, toPath: mainOnly)
        withExtendedLifetime(store) {}
        #expect(try SQLiteStateStore(path: mainOnly).activeLocks() == [lock])
    }

    @Test func aBackupOfALiveStoreHoldsWhatOnlyItsLogHad() throws {
        let directory = try TemporaryDirectory()
        let live = directory.file("state.sqlite")
        let backup = directory.file("backup.sqlite")
        let (store, lock) = try storeWithALockInItsLog(live)

        let summary = try SQLiteBackup.copy(from: live, to: backup)
        // The daemon keeps writing while the backup is made, and afterwards.
        try store.recordAudit(AuditEvent(at: UnixTime(seconds: 1_750_000_001), account: "alice", action: .reset, actor: "root", reason: "test"))

        #expect(summary.locksInForce == 1)
        #expect(summary.accountsWithCounters == 1)
        #expect(!FileManager.default.fileExists(atPath: backup + "-wal"))
        #expect(!FileManager.default.fileExists(atPath: backup + ".partial"))
        #expect(try FileManager.default.attributesOfItem(atPath: backup)[.posixPermissions] as? Int == 0o600)
        // On its own, as a restore on a fresh machine would open it.
        let restored = try SQLiteStateStore(path: backup)
        #expect(try restored.activeLocks() == [lock])
        #expect(try restored.evidence(account: alice).map(\.queueID) == ["4Q1"])
        #expect(try restored.loadCounters().count == 1)
        #expect(try restored.auditTrail(account: alice).map(\.action) == [.lock])
        withExtendedLifetime(store) {}
    }

    @Test func aBackupToADirectoryOrFromAMissingFileSaysWhatIsWrong() throws {
        let directory = try TemporaryDirectory()
        let live = directory.file("state.sqlite")
        _ = try storeWithALockInItsLog(live)

        let toDirectory = try #require(throws: SQLiteError.self) { try SQLiteBackup.copy(from: live, to: directory.path) }
        #expect(toDirectory.description.contains("is a directory"))
        let missing = try #require(throws: SQLiteError.self) {
            try SQLiteBackup.copy(from: directory.file("nope.sqlite"), to: directory.file("b.sqlite"))
        }
        #expect(missing.description.hasPrefix("cannot back up \(directory.file("nope.sqlite")): no such file"))
        #expect(!FileManager.default.fileExists(atPath: directory.file("nope.sqlite")))
    }
}
